import { describe, expect, it } from 'vitest';
import { stepWatchdog, type WatchdogEffect, type WatchdogPolicy, type WatchdogState } from '../src/watchdog-machine.js';

const p: WatchdogPolicy = { pulseIntervalMs: 1000, timeoutMs: 5000, armAtStart: false, stallThresholdMs: 500 };

/** A wake past the deadline, then the drain it asks for: the decision. */
function wakeAndDrain(s: WatchdogState, wakeAt: number, drainedAt = wakeAt): { woke: readonly WatchdogEffect[]; decided: readonly WatchdogEffect[]; state: WatchdogState } {
  const [expiring, woke] = stepWatchdog(p, s, { type: 'wake', at: wakeAt });
  let [state, decided] = stepWatchdog(p, expiring, { type: 'drained', at: drainedAt });
  if (decided.length === 1 && decided[0]?.type === 'drain') [state, decided] = stepWatchdog(p, state, { type: 'drained', at: drainedAt });
  return { woke, decided, state };
}

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

  it('at the deadline it first lets pending input in (drain), then fires with silence and lateness, then waits without a deadline', () => {
    const armed: WatchdogState = { kind: 'armed', nextPulseAt: 6000, deadline: 5300, lastInputAt: 300 };
    const [expiring, woke] = stepWatchdog(p, armed, { type: 'wake', at: 5302 });
    expect(woke).toEqual([{ type: 'drain' }]);
    expect(expiring).toEqual({ kind: 'expiring', nextPulseAt: 6000, deadline: 5300, lastInputAt: 300, stallMs: 0, drains: 1 });
    const [s, fx] = stepWatchdog(p, expiring, { type: 'drained', at: 5303 });
    expect(fx).toEqual([{ type: 'fire', silentMs: 5003, lateMs: 3, stallMs: 0 }, { type: 'schedule', at: 6000 }]);
    expect(s).toEqual({ kind: 'fired', nextPulseAt: 6000, firedAt: 5303, lastInputAt: 300 });
  });

  it('[issue 13] input read during the drain re-arms instead: no firing, a `spared` effect', () => {
    const [expiring] = stepWatchdog(p, { kind: 'armed', nextPulseAt: 6000, deadline: 5300, lastInputAt: 300 }, { type: 'wake', at: 5302 });
    const [s, fx] = stepWatchdog(p, expiring, { type: 'input', at: 5302 });
    expect(fx).toEqual([{ type: 'spared', pastDeadlineMs: 2 }, { type: 'schedule', at: 6000 }]);
    expect(s).toEqual({ kind: 'armed', nextPulseAt: 6000, deadline: 10_302, lastInputAt: 5302 });
    // The drain's own callback arrives afterwards and finds nothing to decide.
    expect(stepWatchdog(p, s, { type: 'drained', at: 5302 })).toEqual([s, []]);
  });

  it('[issue 13] a wake late by the stall threshold reports the stall and drains twice before firing', () => {
    const armed: WatchdogState = { kind: 'armed', nextPulseAt: 1000, deadline: 5000, lastInputAt: 0 };
    const [e1, woke] = stepWatchdog(p, armed, { type: 'wake', at: 8000 });
    expect(woke).toEqual([{ type: 'stalled', lateMs: 7000 }, { type: 'send-pulse' }, { type: 'drain' }]);
    expect(e1).toMatchObject({ kind: 'expiring', stallMs: 7000, drains: 1, nextPulseAt: 9000 });
    const [e2, again] = stepWatchdog(p, e1, { type: 'drained', at: 8000 });
    expect(again).toEqual([{ type: 'drain' }]);
    const [s, fx] = stepWatchdog(p, e2, { type: 'drained', at: 8001 });
    expect(fx[0]).toEqual({ type: 'fire', silentMs: 8001, lateMs: 3001, stallMs: 7000 });
    expect(s.kind).toBe('fired');
  });

  it('[issue 13] a late pulse wake (no deadline due) reports the stall and only pulses', () => {
    const [s, fx] = stepWatchdog(p, { kind: 'waiting', nextPulseAt: 1000 }, { type: 'wake', at: 1600 });
    expect(fx).toEqual([{ type: 'stalled', lateMs: 600 }, { type: 'send-pulse' }, { type: 'schedule', at: 2000 }]);
    expect(s.kind).toBe('waiting');
    const [, onTime] = stepWatchdog(p, { kind: 'waiting', nextPulseAt: 1000 }, { type: 'wake', at: 1499 });
    expect(onTime.some((f) => f.type === 'stalled')).toBe(false);
  });

  it('expiring ignores wake and start, and stop cancels it', () => {
    const e: WatchdogState = { kind: 'expiring', nextPulseAt: 6000, deadline: 5000, lastInputAt: 0, stallMs: 0, drains: 1 };
    expect(stepWatchdog(p, e, { type: 'wake', at: 5001 })).toEqual([e, []]);
    expect(stepWatchdog(p, e, { type: 'start', at: 5001 })).toEqual([e, []]);
    expect(stepWatchdog(p, e, { type: 'stop', at: 5001 })).toEqual([{ kind: 'stopped' }, [{ type: 'cancel' }]]);
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

  it('a pulse and the deadline due together: the pulse goes out in the wake, the firing after the drain', () => {
    const { woke, decided } = wakeAndDrain({ kind: 'armed', nextPulseAt: 5000, deadline: 5000, lastInputAt: 0 }, 5000);
    expect(woke.map((f) => f.type)).toEqual(['send-pulse', 'drain']);
    expect(decided.map((f) => f.type)).toEqual(['fire', 'schedule']);
  });

  it('armed at start without input: silence is measured from start', () => {
    const { decided } = wakeAndDrain({ kind: 'armed', nextPulseAt: 9000, deadline: 5000, lastInputAt: null }, 5000);
    expect(decided).toContainEqual({ type: 'fire', silentMs: 5000, lateMs: 0, stallMs: 0 });
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
