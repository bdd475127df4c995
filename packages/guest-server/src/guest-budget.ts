/**
 * Per-guest budgets (issue 11 item 4): what one guest may make the server do per unit of time, so 500
 * hostile guests cannot starve the good ones. Token buckets (burst + sustained rate) over messages, bytes,
 * reads and (re-)initialisations, plus the per-instance log limit. Excess messages and inits are dropped
 * and counted; excess bytes and reads pause the channel (the kernel holds the rest) until the bucket
 * refills. Pure apart from the clock the session passes in.
 */
import { LogRateLimiter, TokenBucket } from '@guesthb/daemon-kit';

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

export class GuestBudget {
  readonly #limits: GuestBudgetLimits;
  /** Made at the instance's first info or warn line (most never write one): ~150 bytes less per guest (issue 17). */
  #log: LogRateLimiter | undefined;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #reads: TokenBucket;
  readonly #inits: TokenBucket;

  constructor(limits: GuestBudgetLimits = DEFAULT_GUEST_BUDGET) {
    this.#messages = new TokenBucket(limits.messagesBurst, limits.messagesPerSec);
    this.#bytes = new TokenBucket(limits.bytesBurst, limits.bytesPerSec);
    this.#reads = new TokenBucket(limits.readsBurst, limits.readsPerSec);
    this.#inits = new TokenBucket(limits.initsBurst, limits.initsPerMin / 60);
    this.#limits = limits;
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
    const bytesOk = this.#bytes.charge(now, bytes);
    // Large reads are paid for by the byte budget; the read budget is for writers of tiny pieces.
    const readsOk = bytes >= SMALL_READ_BYTES || this.#reads.charge(now, 1);
    if (bytesOk && readsOk) return { pauseMs: 0 };
    // Resume once the debt is repaid (at least a tenth of a second's worth: fewer, larger reads).
    const bytesMs = this.#bytes.msUntil(now, this.#bytes.refillPerSec / 10);
    const readsMs = this.#reads.msUntil(now, this.#reads.refillPerSec / 10);
    return bytesMs >= readsMs ? { pauseMs: Math.max(1, bytesMs), kind: 'bytes' } : { pauseMs: Math.max(1, readsMs), kind: 'reads' };
  }

  /** One decoded line: false when over the message rate (drop it). */
  takeMessage(now: number): boolean {
    return this.#messages.take(now);
  }

  /** Messages allowed now (the framer frames no more lines than this). */
  messagesAvailable(now: number): number {
    return this.#messages.available(now);
  }

  /** How long until a few messages are allowed again, ms. */
  messagePauseMs(now: number): number {
    return Math.max(1, this.#messages.msUntil(now, Math.max(1, this.#messages.refillPerSec / 10)));
  }

  /** One init: false when over the re-initialisation rate (drop it). */
  takeInit(now: number): boolean {
    return this.#inits.take(now);
  }
}
