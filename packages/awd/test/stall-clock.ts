/**
 * A ManualClock that can also stall: `stall(ms)` moves time on without running any timer, as when the
 * awd process is stopped (SIGSTOP) or its event loop is blocked; the next `advance` then runs the
 * overdue timers late, at the current time, in deadline order.
 */
import type { Clock, TimerHandle } from '@guesthb/protocol';

export class StallClock implements Clock {
  #now = 0;
  #nextId = 0;
  readonly #timers = new Map<number, { readonly at: number; readonly fn: () => void }>();

  now(): number {
    return this.#now;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = ++this.#nextId;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Time passes, nothing runs. */
  stall(ms: number): void {
    this.#now += ms;
  }

  /** Runs due timers in deadline order (FIFO on ties), including ones they schedule; overdue ones run now. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: { readonly at: number; readonly fn: () => void } | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && (due === undefined || t.at < due.at)) {
          dueId = id;
          due = t;
        }
      }
      if (dueId === undefined || due === undefined) break;
      this.#timers.delete(dueId);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
  }
}
