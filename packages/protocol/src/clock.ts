/**
 * Time as a dependency (STYLE.md R6). The interface and the manual clock for tests live here, in the
 * pure package, so every daemon (awd included) shares them; the real clock is built at the edge.
 */

/** Opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Blocks the thread for `ms` (fractional) without spinning, timers not firing meanwhile: a wait shorter
   * than the timers' millisecond granularity (DeadlineTimers' lead, issue 17). Optional: a clock without
   * it is served by its timers alone.
   */
  sleep?(ms: number): void;
}

/** A clock that moves only when told to: timers fire inside advance(), in deadline order (FIFO on ties). */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 0;
  readonly #timers = new Map<number, { readonly at: number; readonly fn: () => void }>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Timers scheduled and not yet fired or cleared: assert 0 after close to catch leaks. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = ++this.#nextId;
    // A NaN or negative delay fires on the next advance, never "never" (a NaN deadline would leak the timer).
    this.#timers.set(id, { at: this.#now + (delayMs > 0 ? delayMs : 0), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Moves time forward by `ms` without firing anything, as a blocked thread sees it: what fell due meanwhile fires late, in the advance that slept or the next one. */
  sleep(ms: number): void {
    this.#now += ms > 0 ? ms : 0;
  }

  /** Moves time forward by `ms` (negative counts as 0: monotonic), firing due timers in order, including ones they schedule. */
  advance(ms: number): void {
    const target = this.#now + (ms > 0 ? ms : 0);
    for (;;) {
      let dueId: number | undefined;
      let due: { readonly at: number; readonly fn: () => void } | undefined;
      // A callback that slept moved time on: what fell due meanwhile fires now, late, as after a blocked loop.
      const until = Math.max(target, this.#now);
      for (const [id, timer] of this.#timers) {
        if (timer.at <= until && (due === undefined || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (dueId === undefined || due === undefined) break;
      this.#timers.delete(dueId);
      // Time never goes back: a timer overdue after a sleep fires at the time the sleep ended.
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, target);
  }
}
