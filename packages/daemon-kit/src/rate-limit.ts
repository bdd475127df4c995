/**
 * Rate limits for everything an outsider can drive (issue 11 item 4): a token bucket (burst + sustained
 * rate), and a log limiter built on it that turns a flood of lines into a few lines plus one summary per
 * period. Pure: the caller passes `now` (monotonic ms), so tests use a ManualClock or plain numbers.
 */

/** A token bucket: holds up to `capacity` tokens, refilled at `refillPerSec`; starts full. */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSec: number;
  #tokens: number;
  #at: number | undefined;

  constructor(capacity: number, refillPerSec: number) {
    this.capacity = capacity;
    this.refillPerSec = refillPerSec;
    this.#tokens = capacity;
  }

  /** Tokens available at `now`. */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Takes `n` tokens even past empty (a debt repaid by the refill); true when none were owed before. */
  charge(now: number, n: number): boolean {
    this.#refill(now);
    const ok = this.#tokens >= 0;
    this.#tokens = Math.max(this.#tokens - n, -this.capacity);
    return ok;
  }

  /** Milliseconds until `n` tokens are available (0 when they are). */
  msUntil(now: number, n = 1): number {
    this.#refill(now);
    if (this.#tokens >= n) return 0;
    return this.refillPerSec <= 0 ? Number.POSITIVE_INFINITY : Math.ceil(((n - this.#tokens) * 1000) / this.refillPerSec);
  }

  #refill(now: number): void {
    if (this.#at !== undefined && now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.refillPerSec) / 1000);
    }
    if (this.#at === undefined || now > this.#at) this.#at = now;
  }
}

export interface LogRateLimitOptions {
  /** Lines allowed in a burst. */
  readonly burst: number;
  /** Sustained lines per minute once the burst is spent. */
  readonly perMinute: number;
  /** At most one summary line per this period, ms. */
  readonly summaryPeriodMs: number;
}

/** What to do with one log line: write it or not, and whether to write a summary of the suppressed first. */
export interface LogDecision {
  readonly write: boolean;
  /** Lines suppressed since the last summary, to report now (0: no summary due). */
  readonly summarize: number;
}

/**
 * Per-source log limiting: up to `burst` lines, then `perMinute`; suppressed lines are counted and reported
 * in one summary line at most once per `summaryPeriodMs`, on the next line (or `flush`) after it.
 */
export class LogRateLimiter {
  readonly #bucket: TokenBucket;
  readonly #periodMs: number;
  #suppressed = 0;
  #periodStart: number | undefined;

  constructor(options: LogRateLimitOptions) {
    this.#bucket = new TokenBucket(options.burst, options.perMinute / 60);
    this.#periodMs = options.summaryPeriodMs;
  }

  /** Lines suppressed and not yet summarized. */
  get suppressed(): number {
    return this.#suppressed;
  }

  check(now: number): LogDecision {
    const summarize = this.#due(now);
    if (this.#bucket.take(now)) return { write: true, summarize };
    this.#suppressed++;
    this.#periodStart ??= now;
    return { write: false, summarize };
  }

  /** The summary due at `now` (e.g. at close): the count, reset; 0 when nothing was suppressed. */
  flush(): number {
    const n = this.#suppressed;
    this.#suppressed = 0;
    this.#periodStart = undefined;
    return n;
  }

  /** The summary due at `now` without writing a line (any other activity of the source may call it). */
  takeSummary(now: number): number {
    return this.#due(now);
  }

  #due(now: number): number {
    if (this.#suppressed === 0 || this.#periodStart === undefined || now - this.#periodStart < this.#periodMs) return 0;
    const n = this.#suppressed;
    this.#suppressed = 0;
    this.#periodStart = undefined;
    return n;
  }
}
