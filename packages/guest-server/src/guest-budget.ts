/**
 * Per-guest budgets (issue 11 item 4): what one guest may make the server do per unit of time, so 500
 * hostile guests cannot starve the good ones. Token buckets (burst + sustained rate) over messages, bytes,
 * reads and (re-)initialisations, plus the per-instance log limit. Excess messages and inits are dropped
 * and counted; excess bytes and reads pause the channel (the kernel holds the rest) until the bucket
 * refills. Pure apart from the clock the session passes in.
 */
import { LogRateLimiter } from '@guesthb/daemon-kit';

/** The limits; every field a rate per second or a burst. README "Limits" documents the defaults. */
export interface GuestBudgetLimits {
  /** Decoded lines (messages and garbage lines) per second, and the burst. */
  readonly messagesPerSec: number;
  readonly messagesBurst: number;
  /** Bytes read per second, and the burst (a one-off oversized line of tens of MB passes). */
  readonly bytesPerSec: number;
  readonly bytesBurst: number;
  /** Socket reads per second (a byte-at-a-time writer costs one read per byte), and the burst. */
  readonly readsPerSec: number;
  readonly readsBurst: number;
  /** init messages per minute, and the burst (one per reconnect is normal). */
  readonly initsPerMin: number;
  readonly initsBurst: number;
  /** Info/warn log lines per instance: burst, then per minute; one summary line per period. */
  readonly logBurst: number;
  readonly logPerMin: number;
  readonly logSummaryPeriodMs: number;
}

/**
 * A guest at the shortest interval (100 ms) sends ~10 lines and ~2 kB a second; the budgets leave it 2×
 * headroom for lines and far more for bytes. A byte-at-a-time writer (test/faults: ~450 reads/s) is paused
 * now and then; its bytes then arrive together, at most 100 ms later (the bench's hostile row set these).
 */
export const DEFAULT_GUEST_BUDGET: GuestBudgetLimits = Object.freeze({
  messagesPerSec: 20,
  messagesBurst: 40,
  bytesPerSec: 1024 * 1024,
  bytesBurst: 64 * 1024 * 1024,
  readsPerSec: 100,
  readsBurst: 200,
  initsPerMin: 6,
  initsBurst: 5,
  logBurst: 10,
  logPerMin: 3,
  logSummaryPeriodMs: 60_000,
});

/** Reads smaller than this count against the read budget. */
const SMALL_READ_BYTES = 4096;

/** Why something from a guest was dropped or deferred (the label of guest_server_guest_budget_drops_total). */
export type BudgetDropKind = 'messages' | 'reinit' | 'bytes' | 'reads';

/**
 * The four buckets' state in one Float64Array: tokens at [k], the time of the last refill at [k + 1] (NaN
 * before the first use), for k = MESSAGES, BYTES, READS, INITS. The same arithmetic as daemon-kit's
 * TokenBucket; four TokenBucket objects and their boxed doubles cost ~380 bytes per guest, this ~150 (the
 * array is 64 bytes, on the V8 heap) (issue 17 item 4).
 */
const MESSAGES = 0;
const BYTES = 2;
const READS = 4;
const INITS = 6;

export class GuestBudget {
  readonly #limits: GuestBudgetLimits;
  readonly #s = new Float64Array(8);
  /** Made at the instance's first info or warn line (most never write one): ~150 bytes less per guest (issue 17). */
  #log: LogRateLimiter | undefined;

  constructor(limits: GuestBudgetLimits = DEFAULT_GUEST_BUDGET) {
    this.#limits = limits;
    const s = this.#s;
    s[MESSAGES] = limits.messagesBurst;
    s[BYTES] = limits.bytesBurst;
    s[READS] = limits.readsBurst;
    s[INITS] = limits.initsBurst;
    s[MESSAGES + 1] = s[BYTES + 1] = s[READS + 1] = s[INITS + 1] = Number.NaN;
  }

  /** The per-instance log limit (info and warn lines). */
  get log(): LogRateLimiter {
    const l = this.#limits;
    return (this.#log ??= new LogRateLimiter({ burst: l.logBurst, perMinute: l.logPerMin, summaryPeriodMs: l.logSummaryPeriodMs }));
  }

  /** Suppressed lines due for their summary now; 0 without a limit made yet (nothing was ever suppressed). */
  takeLogSummary(now: number): number {
    return this.#log?.takeSummary(now) ?? 0;
  }

  /** At close: lines suppressed since the last summary. */
  flushLog(): number {
    return this.#log?.flush() ?? 0;
  }

  /**
   * Charges one read of `bytes`. Returns 0 when the guest is within its byte and read rates, else how long
   * to stop reading (ms) and which budget ran out. The read itself is processed either way.
   */
  chargeRead(now: number, bytes: number): { readonly pauseMs: number; readonly kind?: BudgetDropKind } {
    const l = this.#limits;
    const bytesOk = this.#charge(BYTES, now, bytes, l.bytesBurst, l.bytesPerSec);
    // Large reads are paid for by the byte budget; the read budget is for writers of tiny pieces.
    const readsOk = bytes >= SMALL_READ_BYTES || this.#charge(READS, now, 1, l.readsBurst, l.readsPerSec);
    if (bytesOk && readsOk) return WITHIN;
    // Resume once the debt is repaid (at least a tenth of a second's worth: fewer, larger reads).
    const bytesMs = this.#msUntil(BYTES, now, l.bytesPerSec / 10, l.bytesBurst, l.bytesPerSec);
    const readsMs = this.#msUntil(READS, now, l.readsPerSec / 10, l.readsBurst, l.readsPerSec);
    return bytesMs >= readsMs ? { pauseMs: Math.max(1, bytesMs), kind: 'bytes' } : { pauseMs: Math.max(1, readsMs), kind: 'reads' };
  }

  /** One decoded line: false when over the message rate (drop it). */
  takeMessage(now: number): boolean {
    return this.#take(MESSAGES, now, this.#limits.messagesBurst, this.#limits.messagesPerSec);
  }

  /** Messages allowed now (the framer frames no more lines than this). */
  messagesAvailable(now: number): number {
    this.#refill(MESSAGES, now, this.#limits.messagesBurst, this.#limits.messagesPerSec);
    return this.#s[MESSAGES] as number;
  }

  /** How long until a few messages are allowed again, ms. */
  messagePauseMs(now: number): number {
    const l = this.#limits;
    return Math.max(1, this.#msUntil(MESSAGES, now, Math.max(1, l.messagesPerSec / 10), l.messagesBurst, l.messagesPerSec));
  }

  /** One init: false when over the re-initialisation rate (drop it). */
  takeInit(now: number): boolean {
    return this.#take(INITS, now, this.#limits.initsBurst, this.#limits.initsPerMin / 60);
  }

  /** TokenBucket.take: `n` tokens if there are that many; false (and nothing taken) otherwise. */
  #take(k: number, now: number, capacity: number, perSec: number, n = 1): boolean {
    this.#refill(k, now, capacity, perSec);
    const s = this.#s;
    if ((s[k] as number) < n) return false;
    s[k] = (s[k] as number) - n;
    return true;
  }

  /** TokenBucket.charge: `n` tokens even past empty (a debt, at most one capacity); true when none were owed before. */
  #charge(k: number, now: number, n: number, capacity: number, perSec: number): boolean {
    this.#refill(k, now, capacity, perSec);
    const s = this.#s;
    const ok = (s[k] as number) >= 0;
    s[k] = Math.max((s[k] as number) - n, -capacity);
    return ok;
  }

  /** TokenBucket.msUntil: ms until `n` tokens are available (0 when they are). */
  #msUntil(k: number, now: number, n: number, capacity: number, perSec: number): number {
    this.#refill(k, now, capacity, perSec);
    const tokens = this.#s[k] as number;
    if (tokens >= n) return 0;
    return perSec <= 0 ? Number.POSITIVE_INFINITY : Math.ceil(((n - tokens) * 1000) / perSec);
  }

  #refill(k: number, now: number, capacity: number, perSec: number): void {
    const s = this.#s;
    const at = s[k + 1] as number;
    const first = Number.isNaN(at);
    if (!first && now > at) s[k] = Math.min(capacity, (s[k] as number) + ((now - at) * perSec) / 1000);
    if (first || now > at) s[k + 1] = now;
  }
}

/** chargeRead's answer within budget: one shared object, not one per read. */
const WITHIN: { readonly pauseMs: number; readonly kind?: BudgetDropKind } = Object.freeze({ pauseMs: 0 });
