/** A test clock with Node's timing under load (the outbox driver's tests and its liveness property). */
import type { Clock, TimerHandle } from '@guesthb/protocol';

/**
 * A clock that behaves as Node's does under load: each reading of now() finds time moved on by `readStepMs`,
 * and a timer fires `earlyMs` before its deadline (Node counts a timer from the loop's cached, ms-truncated
 * time, so against performance.now() it fires up to ~1.5 ms early), but never at the moment it was armed;
 * a delay under 1 ms is 1 ms, as Node's setTimeout makes it.
 */
export class NodeLikeClock implements Clock {
  #t = 0;
  #nextId = 0;
  readonly #timers = new Map<number, { readonly at: number; readonly armedAt: number; readonly fn: () => void }>();

  constructor(public readStepMs: number, readonly earlyMs: number) {}

  /** The current time, without the step of a reading. */
  get time(): number {
    return this.#t;
  }

  /** Timers armed and not fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  now(): number {
    const t = this.#t;
    this.#t += this.readStepMs;
    return t;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = ++this.#nextId;
    this.#timers.set(id, { at: this.#t + (delayMs >= 1 ? delayMs : 1), armedAt: this.#t, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Fires every timer due by `untilMs`, in deadline order, each `earlyMs` early. */
  runUntil(untilMs: number): void {
    for (;;) {
      const [id, due] = [...this.#timers].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
      if (id === undefined || due === undefined || due.at > untilMs) break;
      this.#timers.delete(id);
      this.#t = Math.max(this.#t, due.at - this.earlyMs, due.armedAt + 0.01);
      due.fn();
    }
    this.#t = Math.max(this.#t, untilMs);
  }
}
