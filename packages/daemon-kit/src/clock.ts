/** The real clock (STYLE.md R6): the only place outside composition roots that touches timers. */
import type { Clock, TimerHandle } from '@guesthb/protocol';

/** Monotonic time from performance.now(); timers are Node's, unref'd so they never hold the process open. */
export const systemClock: Clock = {
  now: (): number => performance.now(),
  setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    timer.unref();
    return timer;
  },
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as NodeJS.Timeout);
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
