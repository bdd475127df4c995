/** ManualClock (STYLE.md R6): time moves only in advance(); timers fire in deadline order, FIFO on ties. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/index.js';

describe('ManualClock', () => {
  it('starts at 0 or the given time', () => {
    expect(new ManualClock().now()).toBe(0);
    expect(new ManualClock(500).now()).toBe(500);
  });

  it('fires due timers in deadline order, FIFO on ties, with now() at each deadline', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 100);
    expect(clock.pendingTimers).toBe(3);
    clock.advance(250);
    expect(fired).toEqual(['a@100', 'b@100']);
    expect(clock.now()).toBe(250);
    clock.advance(50);
    expect(fired).toEqual(['a@100', 'b@100', 'c@300']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires timers scheduled by a firing timer within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      if (fired.length < 5) clock.setTimeout(tick, 1000);
    };
    clock.setTimeout(tick, 1000);
    clock.advance(10_000);
    expect(fired).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(clock.now()).toBe(10_000);
  });

  it('does not fire a timer scheduled beyond the advance', () => {
    const clock = new ManualClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 1000);
    clock.advance(999);
    expect(fired).toBe(false);
    clock.advance(1);
    expect(fired).toBe(true);
  });

  it('clears a timer and ignores foreign handles', () => {
    const clock = new ManualClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout('not a handle');
    clock.clearTimeout(undefined);
    expect(clock.pendingTimers).toBe(1);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires zero, negative and NaN delays on the next advance, never leaking them', () => {
    const clock = new ManualClock(50);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(0), 0);
    clock.setTimeout(() => fired.push(-1), -100);
    clock.setTimeout(() => fired.push(Number.NaN), Number.NaN);
    clock.advance(0);
    expect(fired).toEqual([0, -1, Number.NaN]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.now()).toBe(50);
  });

  it('never moves backwards', () => {
    const clock = new ManualClock(100);
    clock.advance(-50);
    expect(clock.now()).toBe(100);
  });

  it('lets a timer clear another one due at the same time', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const handles: unknown[] = [];
    clock.setTimeout(() => {
      fired.push('first');
      clock.clearTimeout(handles[0]);
    }, 10);
    handles.push(clock.setTimeout(() => fired.push('second'), 10));
    clock.advance(10);
    expect(fired).toEqual(['first']);
  });

  it('sleep moves time without firing; due timers fire late at the next advance, and time never goes back', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.sleep(7.5);
    }, 10);
    clock.setTimeout(() => fired.push(clock.now()), 12);
    clock.sleep(-1);
    expect(clock.now()).toBe(0);
    clock.advance(11);
    // The first slept past the second's deadline (12) and past the advance's target (11): the second fires
    // late, when the sleep ends, within the same advance.
    expect(fired).toEqual([10, 17.5]);
    expect(clock.now()).toBe(17.5);
    clock.setTimeout(() => fired.push(clock.now()), 1);
    clock.sleep(5);
    expect(clock.pendingTimers).toBe(1);
    expect(fired).toEqual([10, 17.5]);
    clock.advance(0);
    expect(fired).toEqual([10, 17.5, 22.5]);
  });
});
