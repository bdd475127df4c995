/** The real clock (monotonic), kept here so awd does not depend on daemon-kit (issue 6 notes). */
import type { Clock } from '@guesthb/protocol';

/** Monotonic milliseconds from performance.now(); timers are Node's, unref'd so they never hold the process. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
