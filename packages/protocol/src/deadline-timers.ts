/**
 * Many re-armable deadlines behind one timer of a Clock (issue 17).
 *
 * guest-server re-arms one timer per instance twice a heartbeat (the challenge slot, then the response
 * deadline). With Node's timers every arming is a new `Timeout` object (~180 bytes) that lives until it
 * fires or is cleared: at 10 000 guests @ 400 ms that was ~180 bytes of the ~1060 of garbage a heartbeat
 * made, and ~150 of the ~420 bytes per guest that every scavenge had to copy. Here each owner keeps one
 * `DeadlineTimer` for its life; arming it moves it in a binary min-heap (no allocation), and only the
 * heap's earliest deadline holds a timer of the clock, which is re-armed when that deadline changes (about
 * once per wake-up, not once per arming).
 *
 * Semantics are those of one clock timer per owner: a timer armed for `atMs` fires once, when the clock
 * fires for it, never before the clock's own timer would; timers due together fire in deadline order, FIFO
 * on ties; a timer armed or re-armed while others fire waits for the next pass (so a callback that re-arms
 * at once cannot starve the loop). Pure apart from the injected clock, so tests run it on `ManualClock`.
 *
 * Lead (`leadMs` > 0, with a clock that can `sleep`): Node counts timers in whole milliseconds from the
 * loop's cached, truncated time, so a timer fires 0–2 ms after its deadline, and a challenge interval (the
 * difference of two such delays) is off by up to ~2 ms. With a lead the clock's timer is armed `leadMs`
 * early, and its pass sleeps (a futex wait, not a spin) the remaining fraction up to the earliest deadline
 * before firing: timers then fire within tens of µs of their deadline, never before it, at the cost of the
 * thread being blocked for at most `leadMs` + 2 ms per wake-up.
 */
import type { Clock, TimerHandle } from './clock.js';

/** One owner's timer: armed for one deadline at a time. Made by `DeadlineTimers.create`. */
export class DeadlineTimer {
  /**
   * The deadline (monotonic ms) it is armed for, or was last armed for once it fired or was disarmed (so a
   * callback can read what it fired for); NaN before the first arming. A double from the start: V8 then
   * stores every new deadline in place instead of boxing it.
   */
  at = Number.NaN;
  /** Position in the heap; -1 when not armed. */
  index = -1;
  /** Arming order, for FIFO among equal deadlines. */
  seq = 0;

  constructor(
    readonly owner: DeadlineTimers,
    readonly fire: () => void,
  ) {}

  get armed(): boolean {
    return this.index >= 0;
  }

  /** Arms (or moves) this timer to fire at `atMs` by the clock. */
  arm(atMs: number): void {
    this.owner.arm(this, atMs);
  }

  disarm(): void {
    this.owner.disarm(this);
  }
}

export interface DeadlineTimersOptions {
  /** How early the clock's timer is armed, the rest slept (see the header); 0 or absent = no lead. */
  readonly leadMs?: number;
}

/** The longest a pass sleeps beyond the lead: the clock's timer fires up to ~1 ms before its own delay, plus a stale loop time. */
const SLEEP_SLACK_MS = 2;

export class DeadlineTimers {
  readonly #clock: Clock;
  readonly #heap: DeadlineTimer[] = [];
  #seq = 0;
  #handle: TimerHandle | undefined;
  /** The deadline the clock's timer is armed for; Infinity when none. */
  #handleAt = Number.POSITIVE_INFINITY;
  #passing = false;
  readonly #onClock = (): void => this.#pass();

  /** 0 when the clock cannot sleep. */
  readonly #leadMs: number;

  constructor(clock: Clock, options: DeadlineTimersOptions = {}) {
    this.#clock = clock;
    const leadMs = options.leadMs ?? 0;
    this.#leadMs = clock.sleep !== undefined && leadMs > 0 ? leadMs : 0;
  }

  /** Armed timers. */
  get size(): number {
    return this.#heap.length;
  }

  create(fire: () => void): DeadlineTimer {
    return new DeadlineTimer(this, fire);
  }

  arm(timer: DeadlineTimer, atMs: number): void {
    if (timer.owner !== this) throw new Error('DeadlineTimer armed on another DeadlineTimers');
    const at = Number.isNaN(atMs) ? this.#clock.now() : atMs;
    timer.seq = ++this.#seq;
    if (timer.index < 0) {
      timer.at = at;
      timer.index = this.#heap.length;
      this.#heap.push(timer);
      this.#up(timer.index);
    } else {
      const earlier = at < timer.at;
      timer.at = at;
      if (earlier) this.#up(timer.index);
      else this.#down(timer.index);
    }
    if (!this.#passing) this.#schedule();
  }

  disarm(timer: DeadlineTimer): void {
    if (timer.index < 0 || timer.owner !== this) return;
    this.#removeAt(timer.index);
    // With others armed, the clock's timer stays armed for a deadline nobody may hold now: it fires once
    // early and re-arms for the next one (clearing and re-making it on every disarm would cost more than
    // that wake-up). With none, it is cleared, so an idle owner holds no clock timer.
    if (this.#heap.length === 0 && this.#handle !== undefined && !this.#passing) {
      this.#clock.clearTimeout(this.#handle);
      this.#handle = undefined;
      this.#handleAt = Number.POSITIVE_INFINITY;
    }
  }

  #pass(): void {
    const firedFor = this.#handleAt;
    this.#handle = undefined;
    this.#handleAt = Number.POSITIVE_INFINITY;
    const heap = this.#heap;
    // Fire what the clock fired for (a clock timer may fire a little before its deadline by its own now()),
    // whatever has the same deadline, and whatever is overdue by the clock; a timer armed during this pass
    // waits for the next one.
    const limit = this.#leadMs > 0 ? this.#sleepToFirst() : Math.max(this.#clock.now(), firedFor);
    const lastSeq = this.#seq;
    this.#passing = true;
    try {
      for (;;) {
        const next = heap[0];
        if (next === undefined || next.at > limit || next.seq > lastSeq) break;
        this.#removeAt(0);
        next.fire();
      }
    } finally {
      this.#passing = false;
      this.#schedule();
    }
  }

  /**
   * With a lead: sleeps until the earliest deadline when it is at most the lead (and its slack) away, and
   * returns the limit of this pass. Nothing fires before its deadline: a clock timer that fired for a
   * deadline nobody holds any more, with the next one further than that, fires nothing.
   */
  #sleepToFirst(): number {
    const now = this.#clock.now();
    const top = this.#heap[0];
    if (top === undefined) return now;
    const waitMs = top.at - now;
    if (waitMs <= 0 || waitMs > this.#leadMs + SLEEP_SLACK_MS) return now;
    this.#clock.sleep?.(waitMs);
    return Math.max(this.#clock.now(), top.at);
  }

  /** Arms the clock's one timer for the earliest deadline (its lead early), unless it is already armed for it or sooner. */
  #schedule(): void {
    const top = this.#heap[0];
    if (top === undefined || top.at >= this.#handleAt) return;
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handleAt = top.at;
    const inMs = top.at - this.#clock.now();
    this.#handle = this.#clock.setTimeout(this.#onClock, Math.max(0, this.#leadMs > 0 ? Math.floor(inMs - this.#leadMs) : Math.ceil(inMs)));
  }

  #removeAt(index: number): void {
    const heap = this.#heap;
    const timer = heap[index] as DeadlineTimer;
    const last = heap.pop() as DeadlineTimer;
    timer.index = -1;
    if (last === timer) return;
    this.#put(index, last);
    this.#down(index);
    this.#up(last.index);
  }

  #up(index: number): void {
    const heap = this.#heap;
    const timer = heap[index] as DeadlineTimer;
    let i = index;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as DeadlineTimer;
      if (!before(timer, parent)) break;
      this.#put(i, parent);
      i = parentIndex;
    }
    this.#put(i, timer);
  }

  #down(index: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const timer = heap[index] as DeadlineTimer;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right] as DeadlineTimer, heap[left] as DeadlineTimer) ? right : left;
      const c = heap[child] as DeadlineTimer;
      if (!before(c, timer)) break;
      this.#put(i, c);
      i = child;
    }
    this.#put(i, timer);
  }

  #put(index: number, timer: DeadlineTimer): void {
    this.#heap[index] = timer;
    timer.index = index;
  }
}

function before(a: DeadlineTimer, b: DeadlineTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
