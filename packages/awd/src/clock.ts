/** The real clock (monotonic), kept here so awd does not depend on daemon-kit (issue 6 notes). */
import type { Clock } from '@guesthb/protocol';

/**
 * Monotonic milliseconds from performance.now(), Node's timers. Timers stay ref'd: a connecting node
 * waiting to redial is all that keeps a secondary awd alive, and close() clears every timer.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Runs `fn` after the event loop has polled for I/O once: setImmediate callbacks run in the check
 * phase, which follows the poll phase, so data already waiting in a socket is read (and its 'data'
 * handlers run) first. A timer that fires late after awd was stopped runs before that poll (issue 13).
 */
export function afterPendingIo(fn: () => void): void {
  setImmediate(fn);
}
