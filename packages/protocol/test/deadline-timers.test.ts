/** DeadlineTimers on ManualClock: the semantics of one clock timer per owner, with one clock timer in all. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Clock, ManualClock } from '../src/clock.js';
import { DeadlineTimers, type DeadlineTimer } from '../src/deadline-timers.js';

function setup(startMs = 1000) {
  const clock = new ManualClock(startMs);
  const timers = new DeadlineTimers(clock);
  const fired: string[] = [];
  const make = (name: string): DeadlineTimer => timers.create(() => fired.push(`${name}@${clock.now()}`));
  return { clock, timers, fired, make };
}

describe('DeadlineTimers', () => {
  it('fires each armed timer once at its deadline, in deadline order, FIFO on ties, behind one clock timer', () => {
    const { clock, timers, fired, make } = setup();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(make) as [DeadlineTimer, DeadlineTimer, DeadlineTimer, DeadlineTimer];
    c.arm(1300);
    a.arm(1100);
    d.arm(1200);
    b.arm(1200);
    expect(timers.size).toBe(4);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1000);
    expect(fired).toEqual(['a@1100', 'd@1200', 'b@1200', 'c@1300']);
    expect(timers.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(a.armed).toBe(false);
  });

  it('re-arming moves a timer earlier or later; disarming removes it; the last disarm clears the clock timer', () => {
    const { clock, fired, make } = setup(0);
    const a = make('a');
    const b = make('b');
    a.arm(500);
    b.arm(300);
    a.arm(100);
    b.arm(700);
    clock.advance(200);
    expect(fired).toEqual(['a@100']);
    b.disarm();
    b.disarm();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(fired).toEqual(['a@100']);
  });

  it('a timer re-armed by a callback for now or earlier fires in the next pass, not in the same one', () => {
    const { clock, timers, make } = setup(0);
    let count = 0;
    const t: DeadlineTimer = timers.create(() => {
      count++;
      if (count < 5) t.arm(clock.now());
    });
    const other = make('other');
    t.arm(10);
    other.arm(10);
    clock.advance(10);
    // Each pass fires what was armed before it: t (x5, one per pass) and other, never an endless pass.
    expect(count).toBe(5);
    expect(t.armed).toBe(false);
    expect(other.armed).toBe(false);
  });

  it('a clock timer that fires for a deadline nobody holds any more fires nothing early', () => {
    const { clock, fired, make } = setup(0);
    const a = make('a');
    const b = make('b');
    a.arm(100);
    b.arm(200);
    a.disarm();
    clock.advance(150);
    expect(fired).toEqual([]);
    expect(b.armed).toBe(true);
    clock.advance(50);
    expect(fired).toEqual(['b@200']);
  });

  it('a callback that throws leaves the others armed and the clock timer re-armed', () => {
    const { clock, timers, fired, make } = setup(0);
    const bad = timers.create(() => {
      throw new Error('boom');
    });
    const later = make('later');
    bad.arm(10);
    later.arm(20);
    expect(() => clock.advance(10)).toThrow('boom');
    expect(later.armed).toBe(true);
    clock.advance(10);
    expect(fired).toEqual(['later@20']);
  });

  it('refuses a timer of another DeadlineTimers', () => {
    const one = setup();
    const other = setup();
    const t = other.make('t');
    expect(() => one.timers.arm(t, 5)).toThrow(/another/);
  });

  // The model: one ManualClock timer per owner, cleared and set on every arm (what guest-server did before).
  it('property: any sequence of arms, disarms and advances fires what one clock timer per owner would, in order', () => {
    // Delays from a few round values as well, so deadlines often tie (FIFO) and land on an advance's end.
    const delay = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constantFrom(0, 50, 100, 150));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('arm' as const), timer: fc.nat(7), delayMs: delay }),
      fc.record({ kind: fc.constant('disarm' as const), timer: fc.nat(7) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(50, 100)) }),
      fc.record({ kind: fc.constant('rearmInCallback' as const), timer: fc.nat(7), delayMs: fc.integer({ min: 1, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const real = new ManualClock(0);
        const model = new ManualClock(0);
        const timers = new DeadlineTimers(real);
        const firedReal: string[] = [];
        const firedModel: string[] = [];
        // A callback re-arms its timer once after the op that asked for it (each side consumes its own copy).
        const rearmReal = new Map<number, number>();
        const rearmModel = new Map<number, number>();
        const handles = new Map<number, unknown>();
        const deadlineTimers = Array.from({ length: 8 }, (_, i) => timers.create(() => {
          firedReal.push(`${i}@${real.now()}`);
          const again = rearmReal.get(i);
          rearmReal.delete(i);
          if (again !== undefined) deadlineTimers[i]?.arm(real.now() + again);
        }));
        const modelFire = (i: number) => (): void => {
          handles.delete(i);
          firedModel.push(`${i}@${model.now()}`);
          const again = rearmModel.get(i);
          rearmModel.delete(i);
          if (again !== undefined) modelArm(i, model.now() + again);
        };
        const modelArm = (i: number, at: number): void => {
          if (handles.has(i)) model.clearTimeout(handles.get(i));
          handles.set(i, model.setTimeout(modelFire(i), at - model.now()));
        };
        for (const o of ops) {
          if (o.kind === 'arm') {
            deadlineTimers[o.timer]?.arm(real.now() + Math.max(0, o.delayMs));
            modelArm(o.timer, model.now() + Math.max(0, o.delayMs));
          } else if (o.kind === 'disarm') {
            deadlineTimers[o.timer]?.disarm();
            if (handles.has(o.timer)) model.clearTimeout(handles.get(o.timer));
            handles.delete(o.timer);
          } else if (o.kind === 'rearmInCallback') {
            rearmReal.set(o.timer, o.delayMs);
            rearmModel.set(o.timer, o.delayMs);
          } else {
            real.advance(o.ms);
            model.advance(o.ms);
          }
        }
        real.advance(100_000);
        model.advance(100_000);
        // Same firings at the same times; within one instant the order may differ only where the model's
        // own order is by arming (FIFO), which the heap keeps too, so compare exactly.
        expect(firedReal).toEqual(firedModel);
        expect(timers.size).toBe(0);
        expect(real.pendingTimers).toBe(0);
      }),
      { numRuns: 300, seed: Number(process.env.GUESTHB_FAULT_SEED ?? 17) },
    );
  });
});

/** A ManualClock that records what it was asked to sleep. */
class SleepRecordingClock extends ManualClock {
  readonly sleeps: number[] = [];

  override sleep(ms: number): void {
    this.sleeps.push(ms);
    super.sleep(ms);
  }
}

/** A 1 ms lead on a clock that records its sleeps, and two timers that record when they fire. */
function leadSetup() {
  const clock = new SleepRecordingClock(0);
  const timers = new DeadlineTimers(clock, { leadMs: 1 });
  const fired: number[] = [];
  const a = timers.create(() => fired.push(clock.now()));
  const b = timers.create(() => fired.push(clock.now()));
  return { clock, fired, a, b };
}

describe('DeadlineTimers with a lead (sub-millisecond deadlines)', () => {
  it('arms the clock timer the lead early and sleeps the rest: a fractional deadline fires exactly, never before', () => {
    const { clock, fired, a, b } = leadSetup();
    a.arm(400.25);
    b.arm(400.25);
    clock.advance(399);
    // The clock's timer fired at floor(400.25 - 1) = 399 ms; the pass slept 1.25 ms and fired both.
    expect(clock.sleeps).toEqual([1.25]);
    expect(fired).toEqual([400.25, 400.25]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a clock that cannot sleep is served by its timers alone (the lead is ignored)', () => {
    const manual = new ManualClock(0);
    const clock: Clock = { now: () => manual.now(), setTimeout: (fn, ms) => manual.setTimeout(fn, ms), clearTimeout: (h) => manual.clearTimeout(h) };
    const timers = new DeadlineTimers(clock, { leadMs: 1 });
    const fired: number[] = [];
    timers.create(() => fired.push(manual.now())).arm(400.25);
    manual.advance(400);
    expect(fired).toEqual([]);
    manual.advance(1);
    expect(fired).toEqual([401]);
  });

  it('never sleeps towards a deadline further than the lead and its slack (the one it woke for was disarmed)', () => {
    const { clock, fired, a, b } = leadSetup();
    a.arm(100);
    b.arm(200);
    a.disarm();
    clock.advance(150);
    expect(clock.sleeps).toEqual([]);
    expect(fired).toEqual([]);
    clock.advance(50);
    expect(clock.sleeps).toEqual([1]);
    expect(fired).toEqual([200]);
  });

  it('property: every arming that is not replaced or disarmed fires once, at max(deadline, when armed), sleeping at most lead + 2 ms', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('arm' as const), timer: fc.nat(5), delayMs: fc.oneof(fc.double({ min: -3, max: 50, noNaN: true }), fc.constantFrom(0, 1, 2, 10)) }),
      fc.record({ kind: fc.constant('disarm' as const), timer: fc.nat(5) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.double({ min: 0, max: 60, noNaN: true }), fc.constantFrom(1, 2, 10)) }),
      fc.record({ kind: fc.constant('rearmInCallback' as const), timer: fc.nat(5), delayMs: fc.double({ min: 0, max: 20, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (leadMs, ops) => {
        const clock = new SleepRecordingClock(0);
        const timers = new DeadlineTimers(clock, { leadMs });
        // What each timer's live arming expects: fire at max(deadline, the time it was armed).
        const expected = new Map<number, number>();
        const rearm = new Map<number, number>();
        const problems: string[] = [];
        const ts = Array.from({ length: 6 }, (_, i) => timers.create(() => {
          const want = expected.get(i);
          if (want === undefined) problems.push(`${i} fired without an arming at ${clock.now()}`);
          else if (clock.now() !== want) problems.push(`${i} fired at ${clock.now()}, expected ${want}`);
          expected.delete(i);
          const again = rearm.get(i);
          rearm.delete(i);
          if (again !== undefined) arm(i, clock.now() + again);
        }));
        const arm = (i: number, at: number): void => {
          expected.set(i, Math.max(at, clock.now()));
          ts[i]?.arm(at);
        };
        for (const o of ops) {
          if (o.kind === 'arm') arm(o.timer, clock.now() + o.delayMs);
          else if (o.kind === 'disarm') {
            ts[o.timer]?.disarm();
            expected.delete(o.timer);
          } else if (o.kind === 'rearmInCallback') rearm.set(o.timer, o.delayMs);
          else clock.advance(o.ms);
        }
        clock.advance(1000);
        expect(problems).toEqual([]);
        expect(expected.size).toBe(0);
        expect(timers.size).toBe(0);
        expect(clock.pendingTimers).toBe(0);
        for (const ms of clock.sleeps) expect(ms).toBeLessThanOrEqual(leadMs + 2);
      }),
      { numRuns: 300, seed: Number(process.env.GUESTHB_FAULT_SEED ?? 17) },
    );
  });
});
