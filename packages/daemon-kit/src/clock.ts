/** The real clock (STYLE.md R6): the only place outside composition roots that touches timers. */
import type { Clock, TimerHandle } from '@guesthb/protocol';

/** Node fires a timer longer than this after 1 ms (TimeoutOverflowWarning): the longest delay we arm. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The cell Atomics.wait blocks on: nobody notifies it, so a wait always runs to its timeout. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * Monotonic time from performance.now(); timers are Node's, unref'd so they never hold the process open.
 * Delays are clamped to [0, MAX_TIMER_DELAY_MS]: a guest's restart_secs × 1000 must not fire at once.
 */
export const systemClock: Clock = {
  now: (): number => performance.now(),
  setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
    const timer = setTimeout(fn, delayMs > 0 ? Math.min(delayMs, MAX_TIMER_DELAY_MS) : 0);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as NodeJS.Timeout);
  },
  // A futex wait with a sub-millisecond timeout: the thread sleeps (no CPU) and wakes within tens of µs.
  sleep: (ms: number): void => {
    if (ms > 0) Atomics.wait(SLEEP_CELL, 0, 0, ms);
  },
};

/** Wall-clock milliseconds, for timestamps in events and logs only. */
export function wallClockMs(): number {
  return Date.now();
}

/** Uniform random in [0, 1), injected where jitter or challenges need it. */
export function systemRandom(): number {
  return Math.random();
}
