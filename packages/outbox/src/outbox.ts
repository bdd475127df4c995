/**
 * The outbox driver (STYLE.md R5): the queue rules of outbox-queue.ts plus one timer, the injected send
 * function, metrics hooks and optional persistence in a KeyValueStore (journal.ts). Every entry is
 * written to the store when it is queued and deleted when it is acknowledged, rejected, replaced or
 * evicted, so a restarted daemon re-sends exactly what the receiver had not acknowledged.
 */
import { backoffDelayMs, type BackoffPolicy, type Clock, type TimerHandle } from '@guesthb/protocol';
import type { KeyValueStore } from './key-value-store.js';
import { OutboxQueue, type OutboxItem, type Priority, type PushOutcome, type QueuedEntry, type SettleResult } from './outbox-queue.js';

/**
 * Sends one batch; resolves with what the receiver acknowledged or rejected, rejects when it failed as a whole.
 * `signal` aborts at the send deadline (`sendTimeoutMs`): stop sending and resolve with what was acknowledged
 * so far (or reject). A send still unsettled `SEND_ABORT_GRACE_MS` after that counts as failed as a whole.
 */
export type SendEntries<T> = (entries: readonly QueuedEntry<T>[], signal: AbortSignal) => Promise<SettleResult>;

/** How long a send may take to settle after its deadline aborted it before the outbox gives up on it. */
export const SEND_ABORT_GRACE_MS = 1_000;

/** The subset of a pino logger the outbox uses (the package depends on no logger). */
export interface OutboxLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Metric hooks; every one optional. */
export interface OutboxMetrics {
  depth?(entries: number): void;
  sent?(entries: number): void;
  rejected?(priority: Priority): void;
  sendFailed?(): void;
  coalesced?(priority: Priority): void;
  evicted?(priority: Priority): void;
  refused?(priority: Priority): void;
}

export interface OutboxOptions {
  /** Bound of evictable entries (alarms and vote results may go past it: README "Queue rules"). */
  readonly maxEntries: number;
  /** Most entries per send. */
  readonly maxBatchEntries: number;
  /** Sends in flight at once (each to different lanes). */
  readonly concurrency: number;
  readonly backoff: BackoffPolicy;
  /**
   * Deadline of one send, from its start: the send's signal aborts then, and a send that still has not
   * settled `SEND_ABORT_GRACE_MS` later fails as a whole. A send that never settles (a request without a
   * deadline, a lost reset) would otherwise hold its lanes, and with `concurrency: 1` the whole queue, forever.
   */
  readonly sendTimeoutMs: number;
}

/** Defaults: the cap of 1 s keeps recovery-to-delivery under ~1.3 s without an announce. */
export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = Object.freeze({
  maxEntries: 10_000,
  maxBatchEntries: 100,
  concurrency: 1,
  backoff: Object.freeze({ baseMs: 200, maxMs: 1_000, jitter: 0.5 }),
  sendTimeoutMs: 30_000,
});

export interface OutboxDeps<T> {
  readonly clock: Clock;
  readonly random: () => number;
  readonly send: SendEntries<T>;
  readonly options?: Partial<OutboxOptions>;
  readonly log?: OutboxLog;
  readonly metrics?: OutboxMetrics;
  /** Persistence: entries live under their id in this store (give it a scope of its own). */
  readonly store?: KeyValueStore;
  /** Validates a restored payload; an entry whose payload is rejected is dropped and logged. */
  readonly restorePayload?: (payload: unknown) => T | undefined;
}

/** Health figures (another component's /healthz reads them). */
export interface OutboxStats {
  readonly depth: number;
  readonly oldestUnackedAgeMs: number;
  readonly consecutiveFailures: number;
  /** Age of the oldest send in flight (0 when none): a stall shows here long before anything else notices. */
  readonly oldestInFlightAgeMs: number;
  readonly lastError?: string;
}

interface StoredEntry {
  readonly seq: number;
  readonly item: OutboxItem<unknown>;
}

export class Outbox<T> {
  readonly #deps: OutboxDeps<T>;
  readonly #options: OutboxOptions;
  readonly #queue: OutboxQueue<T>;
  /** Sends in flight and the clock time each started. */
  #inFlight = new Map<Promise<void>, number>();
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #started = false;
  #closed = false;
  #lastError: string | undefined;
  /** Whole-send failures since start (drain stops at the first new one). */
  #failures = 0;

  /** Restores persisted entries from `deps.store` (in memory; no I/O here). */
  constructor(deps: OutboxDeps<T>) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_OUTBOX_OPTIONS, ...deps.options };
    this.#queue = new OutboxQueue<T>(this.#options.maxEntries);
    if (deps.store !== undefined) this.#restore(deps.store);
  }

  get depth(): number {
    return this.#queue.size;
  }

  /** The waiting entries, oldest first (inspection and tests). */
  entries(): QueuedEntry<T>[] {
    return this.#queue.entries();
  }

  has(predicate: (entry: QueuedEntry<T>) => boolean): boolean {
    return this.#queue.entries().some(predicate);
  }

  stats(): OutboxStats {
    const now = this.#deps.clock.now();
    const oldest = this.#queue.oldestEnqueuedAtMs();
    let oldestSendAt: number | undefined;
    for (const startedAt of this.#inFlight.values()) if (oldestSendAt === undefined || startedAt < oldestSendAt) oldestSendAt = startedAt;
    const base = {
      depth: this.#queue.size,
      oldestUnackedAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
      consecutiveFailures: this.#queue.consecutiveFailures,
      oldestInFlightAgeMs: oldestSendAt === undefined ? 0 : Math.max(0, now - oldestSendAt),
    };
    return this.#lastError === undefined ? base : { ...base, lastError: this.#lastError };
  }

  /** Starts sending; entries pushed before start wait. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#pump();
  }

  /** Queues an item (persisted first when a store is set). Never blocks; after close it is refused. */
  push(item: OutboxItem<T>): PushOutcome<T> {
    if (this.#closed) return { result: 'refused' };
    const outcome = this.#queue.push(item, this.#deps.clock.now());
    const m = this.#deps.metrics;
    if (outcome.result === 'refused') {
      m?.refused?.(item.priority);
      this.#deps.log?.error({ id: item.id, priority: item.priority, maxEntries: this.#options.maxEntries }, 'outbox full of alarms: entry refused');
      return outcome;
    }
    if (outcome.result === 'duplicate') return outcome;
    if (outcome.replaced !== undefined) {
      this.#unstore(outcome.replaced);
      m?.coalesced?.(outcome.replaced.priority);
    }
    if (outcome.evicted !== undefined) {
      this.#unstore(outcome.evicted);
      m?.evicted?.(outcome.evicted.priority);
      this.#deps.log?.warn({ id: outcome.evicted.id, priority: outcome.evicted.priority, maxEntries: this.#options.maxEntries }, 'outbox full: entry evicted');
    }
    const stored = this.#queue.get(item.id);
    if (stored !== undefined) this.#deps.store?.put(item.id, { seq: stored.seq, item } satisfies StoredEntry);
    m?.depth?.(this.#queue.size);
    this.#pump();
    return outcome;
  }

  /** Drops every entry of a lane (a deleted instance); entries in flight go when they settle. */
  removeLane(lane: string): number {
    const removed = this.#queue.removeLane(lane);
    for (const entry of removed) this.#unstore(entry);
    this.#deps.metrics?.depth?.(this.#queue.size);
    return removed.length;
  }

  /** Ends every backoff and sends now (the receiver announced itself). */
  retryNow(): void {
    this.#queue.resetBackoff();
    this.#disarm();
    this.#pump();
  }

  /** Gives queued entries up to `timeoutMs` to go (at shutdown); stops at the first failed send. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#closed || this.#queue.size === 0) return;
    this.retryNow();
    const deadline = this.#deps.clock.now() + timeoutMs;
    while (this.#queue.size > 0 && this.#deps.clock.now() < deadline && this.#inFlight.size > 0) {
      const failuresBefore = this.#failures;
      await Promise.race(this.#inFlight.keys());
      if (this.#failures > failuresBefore) break;
    }
  }

  /** Stops sending and waits for sends in flight (the caller bounds this). Entries stay in the store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#disarm();
    await Promise.all(this.#inFlight.keys());
  }

  #pump(): void {
    if (!this.#started || this.#closed) return;
    // One reading of the clock for the whole pass. With one for selectBatch and another for #arm, a backoff
    // that ends between the two is neither sent (selectBatch saw it in the future) nor armed (nextRetryAtMs
    // saw it in the past), and the queue stalls until the next push. Node fires a timer up to ~1.5 ms
    // before performance.now() reaches its deadline (the timer counts from the loop's cached, ms-truncated
    // time), so the retry timer's own pass lands in that window a few times in a hundred under load.
    const now = this.#deps.clock.now();
    const o = this.#options;
    while (this.#inFlight.size < o.concurrency) {
      const batch = this.#queue.selectBatch(now, o.maxBatchEntries);
      if (batch.length === 0) break;
      this.#sendBatch(batch, now);
    }
    this.#arm(now);
  }

  #sendBatch(batch: readonly QueuedEntry<T>[], now: number): void {
    const abort = new AbortController();
    let send: Promise<SettleResult>;
    try {
      send = this.#deps.send(batch, abort.signal);
    } catch (err) {
      send = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // The deadline: abort the send (it settles with what it has), then, if it still hangs, fail it.
    const clock = this.#deps.clock;
    const timeoutMs = this.#options.sendTimeoutMs;
    let deadline: TimerHandle | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      deadline = clock.setTimeout(() => {
        const err = new Error(`send timed out after ${timeoutMs} ms`);
        abort.abort(err);
        deadline = clock.setTimeout(() => reject(err), SEND_ABORT_GRACE_MS);
      }, timeoutMs);
    });
    const done: Promise<void> = Promise.race([send, expired]).then(
      (answer) => this.#settle(batch, answer, undefined),
      (err: unknown) => this.#settle(batch, undefined, err),
    ).catch((err: unknown) => {
      // A throwing hook or store must not leave the send in flight or reject into nobody's hands.
      this.#deps.log?.error({ err: errorText(err) }, 'outbox settle failed');
    }).finally(() => {
      if (deadline !== undefined) clock.clearTimeout(deadline);
      this.#inFlight.delete(done);
      this.#pump();
    });
    this.#inFlight.set(done, now);
  }

  #settle(batch: readonly QueuedEntry<T>[], answer: SettleResult | undefined, err: unknown): void {
    const policy = this.#options.backoff;
    const outcome = this.#queue.settle(batch, answer, this.#deps.clock.now(), (attempt) => backoffDelayMs(policy, attempt, this.#deps.random));
    for (const entry of outcome.acked) this.#unstore(entry);
    for (const entry of outcome.rejected) {
      this.#unstore(entry);
      this.#deps.metrics?.rejected?.(entry.priority);
    }
    for (const entry of outcome.superseded) {
      this.#unstore(entry);
      this.#deps.metrics?.coalesced?.(entry.priority);
    }
    const m = this.#deps.metrics;
    m?.depth?.(this.#queue.size);
    if (outcome.acked.length > 0) m?.sent?.(outcome.acked.length);
    if (outcome.success) {
      if (this.#lastError !== undefined) this.#deps.log?.info({ depth: this.#queue.size }, 'receiver reachable again');
      this.#lastError = undefined;
      return;
    }
    if (outcome.failed.length === 0 && outcome.superseded.length === 0) return;
    this.#failures++;
    m?.sendFailed?.();
    this.#lastError = err === undefined ? `receiver acknowledged none of ${batch.length} entries` : errorText(err);
    const attempt = this.#queue.consecutiveFailures;
    const fields = { err: this.#lastError, attempt, depth: this.#queue.size };
    if (attempt === 1 || attempt % 50 === 0) this.#deps.log?.warn(fields, 'outbox send failed');
    else this.#deps.log?.debug(fields, 'outbox send failed');
  }

  /** Arms the one retry timer for the earliest backoff that ends after `now` (the time #pump selected at). */
  #arm(now: number): void {
    if (this.#closed) return;
    const at = this.#inFlight.size >= this.#options.concurrency ? undefined : this.#queue.nextRetryAtMs(now);
    if (at === this.#timerAt) return;
    this.#disarm();
    if (at === undefined) return;
    this.#timerAt = at;
    // A timer that fires early finds the backoff not over yet: its pass re-arms for the rest (at > now).
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.#pump();
    }, at - now);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  #unstore(entry: QueuedEntry<T>): void {
    this.#deps.store?.delete(entry.id);
  }

  #restore(store: KeyValueStore): void {
    const stored: { key: string; value: StoredEntry }[] = [];
    for (const [key, value] of store.entries()) {
      if (isStoredEntry(value)) stored.push({ key, value });
      else this.#drop(store, key, 'malformed');
    }
    stored.sort((a, b) => a.value.seq - b.value.seq);
    const now = this.#deps.clock.now();
    for (const { key, value } of stored) {
      const payload = this.#deps.restorePayload === undefined ? (value.item.payload as T) : this.#deps.restorePayload(value.item.payload);
      if (payload === undefined || key !== value.item.id) {
        this.#drop(store, key, 'payload rejected');
        continue;
      }
      // Restored entries are admitted like new ones (coalescing and the bound apply) in their old order.
      const outcome = this.#queue.push({ ...value.item, payload }, now, value.seq);
      if (outcome.result === 'queued') {
        if (outcome.replaced !== undefined) store.delete(outcome.replaced.id);
        if (outcome.evicted !== undefined) store.delete(outcome.evicted.id);
      } else {
        store.delete(key);
      }
    }
    if (this.#queue.size > 0) this.#deps.log?.info({ depth: this.#queue.size }, 'outbox restored');
  }

  #drop(store: KeyValueStore, key: string, reason: string): void {
    store.delete(key);
    this.#deps.log?.warn({ key, reason }, 'persisted outbox entry dropped');
  }
}

function isStoredEntry(v: unknown): v is StoredEntry {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const item = o['item'] as Record<string, unknown> | undefined;
  return typeof o['seq'] === 'number' && Number.isFinite(o['seq']) && typeof item === 'object' && item !== null
    && typeof item['id'] === 'string' && typeof item['lane'] === 'string' && typeof item['priority'] === 'string'
    && ['alarm', 'vote-result', 'control', 'service'].includes(item['priority'])
    && (item['coalesceKey'] === undefined || typeof item['coalesceKey'] === 'string') && 'payload' in item;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
