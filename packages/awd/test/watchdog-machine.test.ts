import { describe, expect, it } from 'vitest';
import { stepWatchdog, type WatchdogPolicy, type WatchdogState } from '../src/watchdog-machine.js';

const p: WatchdogPolicy = { pulseIntervalMs: 1000, timeoutMs: 5000, armAtStart: false };

describe('stepWatchdog', () => {
  it('start: waits for the first input, first pulse one interval later (awd spec §2.2/§2.3)', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'idle' }, { type: 'start', at: 100 });
    expect(s).toEqual({ kind: 'waiting', nextPulseAt: 1100 });
    expect(fx).toEqual([{ type: 'schedule', at: 1100 }]);
  });

  it('arm_at_start arms the deadline at start', () => {
    const [s, fx] = stepWatchdog({ ...p, armAtStart: true }, { kind: 'idle' }, { type: 'start', at: 0 });
    expect(s).toEqual({ kind: 'armed', nextPulseAt: 1000, deadline: 5000, lastInputAt: null });
    expect(fx).toEqual([{ type: 'schedule', at: 1000 }]);
  });

  it('never fires before the first input, however long the silence', () => {
    let s: WatchdogState = { kind: 'waiting', nextPulseAt: 1000 };
    for (let t = 1000; t <= 60_000; t += 1000) {
      const [next, fx] = stepWatchdog(p, s, { type: 'wake', at: t });
      expect(fx.some((f) => f.type === 'fire')).toBe(false);
      s = next;
    }
    expect(s.kind).toBe('waiting');
  });

  it('input arms the deadline at input + timeout and schedules the earlier of pulse and deadline', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'waiting', nextPulseAt: 1000 }, { type: 'input', at: 300 });
    expect(s).toEqual({ kind: 'armed', nextPulseAt: 1000, deadline: 5300, lastInputAt: 300 });
    expect(fx).toEqual([{ type: 'schedule', at: 1000 }]);
    const long = { ...p, pulseIntervalMs: 60_000 };
    const [, fx2] = stepWatchdog(long, { kind: 'waiting', nextPulseAt: 60_000 }, { type: 'input', at: 0 });
    expect(fx2).toEqual([{ type: 'schedule', at: 5000 }]);
  });

  it('a later input moves the deadline', () => {
    const [s] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 1000, deadline: 5000, lastInputAt: 0 }, { type: 'input', at: 900 });
    expect(s).toMatchObject({ deadline: 5900, lastInputAt: 900 });
  });

  it('wake at the pulse time sends one pulse and moves the pulse on one interval', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 1000, deadline: 5000, lastInputAt: 0 }, { type: 'wake', at: 1000 });
    expect(s).toMatchObject({ kind: 'armed', nextPulseAt: 2000 });
    expect(fx).toEqual([{ type: 'send-pulse' }, { type: 'schedule', at: 2000 }]);
  });

  it('a late wake sends one pulse, not a burst, and stays on the grid', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'waiting', nextPulseAt: 1000 }, { type: 'wake', at: 3500 });
    expect(fx.filter((f) => f.type === 'send-pulse')).toHaveLength(1);
    expect(s).toEqual({ kind: 'waiting', nextPulseAt: 4000 });
  });

  it('an early wake (before anything is due) only reschedules', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 1000, deadline: 5000, lastInputAt: 0 }, { type: 'wake', at: 999 });
    expect(s.kind).toBe('armed');
    expect(fx).toEqual([{ type: 'schedule', at: 1000 }]);
  });

  it('fires at the deadline with silence and lateness, then waits without a deadline', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 6000, deadline: 5300, lastInputAt: 300 }, { type: 'wake', at: 5302 });
    expect(fx).toContainEqual({ type: 'fire', silentMs: 5002, lateMs: 2 });
    expect(s).toEqual({ kind: 'fired', nextPulseAt: 6000, firedAt: 5302, lastInputAt: 300 });
    expect(fx.at(-1)).toEqual({ type: 'schedule', at: 6000 });
  });

  it('fires once per outage: further wakes in fired only pulse', () => {
    let s: WatchdogState = { kind: 'fired', nextPulseAt: 6000, firedAt: 5000, lastInputAt: 0 };
    for (let t = 6000; t < 30_000; t += 1000) {
      const [next, fx] = stepWatchdog(p, s, { type: 'wake', at: t });
      expect(fx.some((f) => f.type === 'fire')).toBe(false);
      s = next;
    }
    expect(s.kind).toBe('fired');
  });

  it('the next input after a firing emits recovered and re-arms', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'fired', nextPulseAt: 9000, firedAt: 5000, lastInputAt: 0 }, { type: 'input', at: 8000 });
    expect(fx[0]).toEqual({ type: 'recovered', outageMs: 3000 });
    expect(s).toEqual({ kind: 'armed', nextPulseAt: 9000, deadline: 13_000, lastInputAt: 8000 });
  });

  it('a pulse and the deadline due together: both happen in one step', () => {
    const [, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 5000, deadline: 5000, lastInputAt: 0 }, { type: 'wake', at: 5000 });
    expect(fx.map((f) => f.type)).toEqual(['send-pulse', 'fire', 'schedule']);
  });

  it('armed at start without input: silence is measured from start', () => {
    const [, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 9000, deadline: 5000, lastInputAt: null }, { type: 'wake', at: 5000 });
    expect(fx).toContainEqual({ type: 'fire', silentMs: 5000, lateMs: 0 });
  });

  it('stop cancels from any running state and is terminal', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 1, deadline: 2, lastInputAt: 0 }, { type: 'stop', at: 0 });
    expect(s).toEqual({ kind: 'stopped' });
    expect(fx).toEqual([{ type: 'cancel' }]);
    expect(stepWatchdog(p, s, { type: 'input', at: 1 })).toEqual([s, []]);
    expect(stepWatchdog(p, s, { type: 'stop', at: 1 })).toEqual([s, []]);
  });

  it('ignores events that make no sense: input before start, start twice', () => {
    expect(stepWatchdog(p, { kind: 'idle' }, { type: 'input', at: 0 })).toEqual([{ kind: 'idle' }, []]);
    const w: WatchdogState = { kind: 'waiting', nextPulseAt: 5 };
    expect(stepWatchdog(p, w, { type: 'start', at: 1 })).toEqual([w, []]);
  });
});
