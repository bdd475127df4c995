/**
 * The queue rules of the outbox, with no I/O, clock or timer (STYLE.md R4): time comes in as `nowMs`,
 * backoff delays come from an injected function. The driver (outbox.ts) owns the one timer and the sends.
 *
 * It is a class with in-place updates rather than an immutable reducer because a push or an ack must stay
 * O(1) with 10 000 entries waiting; every method is deterministic and returns what it removed.
 *
 * Rules (README "Queue rules"):
 *  - entries are FIFO per lane; a lane with entries in flight sends nothing else until they settle;
 *  - lanes are served by the best priority they hold (alarm, vote-result, control, service), then by age;
 *  - a new entry with a coalescing key replaces the older entry with that key unless it is in flight,
 *    and goes to the tail of its lane (it is the newest fact); an older one that was in flight and fails
 *    is then removed (superseded);
 *  - at the bound, the oldest waiting `service` entry is evicted, then the oldest `control`; alarms and
 *    vote results are never evicted and never refused: they are admitted over the bound; a service or
 *    control entry that finds no evictable room is refused;
 *  - nothing expires;
 *  - a send that fails entirely backs off the whole queue (the receiver is down); an entry that fails in a
 *    batch where others succeeded backs off its own lane; any success resets every other backoff.
 */

/** Priority classes, best first. */
export const PRIORITIES = ['alarm', 'vote-result', 'control', 'service'] as const;
export type Priority = (typeof PRIORITIES)[number];

const RANK: Readonly<Record<Priority, number>> = { alarm: 0, 'vote-result': 1, control: 2, service: 3 };

/** Classes that may be evicted at the bound, in eviction order. */
const EVICTION_ORDER: readonly Priority[] = ['service', 'control'];

/** What a caller queues. `payload` must be JSON-serialisable when the outbox is persisted. */
export interface OutboxItem<T> {
  /** Unique; the receiver acknowledges it. A second push of a known id is ignored. */
  readonly id: string;
  /** FIFO unit, e.g. an instance uuid or a hostname. */
  readonly lane: string;
  readonly priority: Priority;
  /** A newer entry with the same key replaces the older one that is not in flight. */
  readonly coalesceKey?: string;
  readonly payload: T;
}

/** An item in the queue: `seq` orders it (also across restarts), `enqueuedAtMs` is monotonic clock time. */
export interface QueuedEntry<T> extends OutboxItem<T> {
  readonly seq: number;
  readonly enqueuedAtMs: number;
}

export type PushOutcome<T> =
  | { readonly result: 'queued'; readonly replaced: QueuedEntry<T> | undefined; readonly evicted: QueuedEntry<T> | undefined }
  | { readonly result: 'duplicate' }
  | { readonly result: 'refused' };

/** What the receiver did with a batch: acknowledged ids, ids rejected for good (dropped); the rest failed. */
export interface SettleResult {
  readonly acked: readonly string[];
  readonly rejected?: readonly string[];
}

/** Entries removed by a settle, and whether the send counts as a success (the receiver answered). */
export interface SettleOutcome<T> {
  readonly acked: readonly QueuedEntry<T>[];
  readonly rejected: readonly QueuedEntry<T>[];
  /** Ids of the batch that were neither acked nor rejected (they stay queued and back off). */
  readonly failed: readonly string[];
  /** Failed entries a newer entry with their coalescing key replaced while they were in flight: removed. */
  readonly superseded: readonly QueuedEntry<T>[];
  readonly success: boolean;
}

interface Rec<T> extends QueuedEntry<T> {
  inFlight: boolean;
  /** The lane was cancelled while this entry was in flight: it goes whatever the outcome. */
  cancelled: boolean;
}

interface Lane<T> {
  readonly key: string;
  readonly entries: Rec<T>[];
  inFlight: number;
  attempt: number;
  retryAtMs: number;
  /** Entries per priority rank, to find the lane's best class in O(1). */
  readonly counts: number[];
}

export class OutboxQueue<T> {
  readonly #maxEntries: number;
  readonly #byId = new Map<string, Rec<T>>();
  readonly #lanes = new Map<string, Lane<T>>();
  readonly #byPriority: readonly Map<string, Rec<T>>[] = [new Map(), new Map(), new Map(), new Map()];
  readonly #coalesce = new Map<string, Rec<T>>();
  #seq = 0;
  #attempt = 0;
  #retryAtMs = 0;

  /** `maxEntries` bounds evictable entries; alarms and vote results may go past it (README). */
  constructor(maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be ≥ 1, got ${maxEntries}`);
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#byId.size;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** Consecutive sends that failed entirely (the queue-wide backoff exponent). */
  get consecutiveFailures(): number {
    return this.#attempt;
  }

  get(id: string): QueuedEntry<T> | undefined {
    return this.#byId.get(id);
  }

  /** Entries in seq order (oldest first). */
  entries(): QueuedEntry<T>[] {
    return [...this.#byId.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The oldest entry's enqueue time, or undefined when empty. */
  oldestEnqueuedAtMs(): number | undefined {
    let oldest: number | undefined;
    for (const rec of this.#byId.values()) {
      // Map order is insertion order; restored entries may carry older seqs but are inserted first.
      oldest = rec.enqueuedAtMs;
      break;
    }
    return oldest;
  }

  countByPriority(priority: Priority): number {
    return this.#byPriority[RANK[priority]]?.size ?? 0;
  }

  /** Queues an item (rules in the file header). `seq` is given only when restoring a persisted entry. */
  push(item: OutboxItem<T>, nowMs: number, seq?: number): PushOutcome<T> {
    if (this.#byId.has(item.id)) return { result: 'duplicate' };
    let replaced: Rec<T> | undefined;
    if (item.coalesceKey !== undefined) {
      const old = this.#coalesce.get(item.coalesceKey);
      if (old !== undefined && !old.inFlight) {
        this.#remove(old);
        replaced = old;
      }
    }
    let evicted: Rec<T> | undefined;
    if (this.#byId.size >= this.#maxEntries) {
      evicted = this.#victim();
      if (evicted !== undefined) this.#remove(evicted);
      else if (isEvictable(item.priority)) return { result: 'refused' };
    }
    const recSeq = seq ?? this.#seq + 1;
    this.#seq = Math.max(this.#seq, recSeq);
    const rec: Rec<T> = { ...item, seq: recSeq, enqueuedAtMs: nowMs, inFlight: false, cancelled: false };
    this.#insert(rec);
    return { result: 'queued', replaced, evicted };
  }

  /**
   * Marks up to `maxEntries` entries in flight and returns them: lanes not in flight and not backing off,
   * best priority first, then oldest head; each lane contributes a FIFO prefix. Empty while the whole
   * queue backs off.
   */
  selectBatch(nowMs: number, maxEntries: number): QueuedEntry<T>[] {
    if (nowMs < this.#retryAtMs || maxEntries <= 0) return [];
    const ready: Lane<T>[] = [];
    for (const lane of this.#lanes.values()) {
      if (lane.inFlight === 0 && lane.entries.length > 0 && lane.retryAtMs <= nowMs) ready.push(lane);
    }
    ready.sort((a, b) => bestRank(a) - bestRank(b) || (a.entries[0]?.seq ?? 0) - (b.entries[0]?.seq ?? 0));
    const batch: Rec<T>[] = [];
    for (const lane of ready) {
      for (const rec of lane.entries) {
        if (batch.length >= maxEntries) return batch;
        rec.inFlight = true;
        lane.inFlight++;
        batch.push(rec);
      }
    }
    return batch;
  }

  /**
   * Applies the receiver's answer to a batch returned by selectBatch (or `undefined` when the send failed
   * as a whole). `delayMs(attempt)` gives the backoff for a failure count (1-based).
   */
  settle(batch: readonly QueuedEntry<T>[], answer: SettleResult | undefined, nowMs: number, delayMs: (attempt: number) => number): SettleOutcome<T> {
    const ackedIds = new Set(answer?.acked ?? []);
    const rejectedIds = new Set(answer?.rejected ?? []);
    const acked: Rec<T>[] = [];
    const rejected: Rec<T>[] = [];
    const failed: string[] = [];
    const superseded: Rec<T>[] = [];
    const failedLanes = new Set<Lane<T>>();
    for (const sent of batch) {
      const rec = this.#byId.get(sent.id);
      if (rec === undefined || !rec.inFlight) continue;
      rec.inFlight = false;
      const lane = this.#lanes.get(rec.lane);
      if (lane !== undefined) lane.inFlight--;
      if (ackedIds.has(rec.id)) {
        this.#remove(rec);
        acked.push(rec);
      } else if (rejectedIds.has(rec.id) || rec.cancelled) {
        this.#remove(rec);
        rejected.push(rec);
      } else if (rec.coalesceKey !== undefined && this.#newerHolder(rec) !== undefined) {
        // A newer fact with the same key arrived while this one was in flight: it replaces it now.
        this.#remove(rec);
        superseded.push(rec);
        if (lane !== undefined) failedLanes.add(lane);
      } else {
        // The newer fact may have gone meanwhile (evicted at the bound): this one holds its key again.
        if (rec.coalesceKey !== undefined) this.#coalesce.set(rec.coalesceKey, rec);
        failed.push(rec.id);
        if (lane !== undefined) failedLanes.add(lane);
      }
    }
    const success = acked.length > 0 || rejected.length > 0;
    if (success) {
      // The receiver answers: every backoff ends and the queue drains at once, except the lanes that
      // failed next to successes (a poison entry keeps its own backoff).
      this.resetBackoff();
      for (const lane of failedLanes) {
        if (!this.#lanes.has(lane.key)) continue;
        lane.attempt++;
        lane.retryAtMs = nowMs + delayMs(lane.attempt);
      }
    } else if (failed.length > 0 || superseded.length > 0) {
      this.#attempt++;
      this.#retryAtMs = nowMs + delayMs(this.#attempt);
    }
    return { acked, rejected, failed, superseded, success };
  }

  /** Ends every backoff (queue-wide and per lane). */
  resetBackoff(): void {
    this.#attempt = 0;
    this.#retryAtMs = 0;
    for (const lane of this.#lanes.values()) {
      lane.attempt = 0;
      lane.retryAtMs = 0;
    }
  }

  /** The earliest time a waiting entry becomes sendable, or undefined when none waits on a backoff. */
  nextRetryAtMs(nowMs: number): number | undefined {
    let at: number | undefined;
    for (const lane of this.#lanes.values()) {
      if (lane.inFlight > 0 || lane.entries.length === 0) continue;
      const laneAt = Math.max(lane.retryAtMs, this.#retryAtMs);
      if (laneAt > nowMs && (at === undefined || laneAt < at)) at = laneAt;
    }
    return at;
  }

  /**
   * Removes every entry of a lane (e.g. an instance that was deleted). Entries in flight are removed when
   * their send settles, whatever the receiver says. Returns the entries removed now.
   */
  removeLane(lane: string): QueuedEntry<T>[] {
    const l = this.#lanes.get(lane);
    if (l === undefined) return [];
    const removed: Rec<T>[] = [];
    for (const rec of [...l.entries]) {
      if (rec.inFlight) {
        rec.cancelled = true;
        continue;
      }
      this.#remove(rec);
      removed.push(rec);
    }
    return removed;
  }

  /** The waiting entry that took over `rec`'s coalescing key while `rec` was in flight, if any is left. */
  #newerHolder(rec: Rec<T>): Rec<T> | undefined {
    const holder = rec.coalesceKey === undefined ? undefined : this.#coalesce.get(rec.coalesceKey);
    return holder === rec ? undefined : holder;
  }

  #victim(): Rec<T> | undefined {
    for (const priority of EVICTION_ORDER) {
      for (const rec of this.#byPriority[RANK[priority]]?.values() ?? []) {
        if (!rec.inFlight) return rec;
      }
    }
    return undefined;
  }

  #insert(rec: Rec<T>): void {
    this.#byId.set(rec.id, rec);
    this.#byPriority[RANK[rec.priority]]?.set(rec.id, rec);
    if (rec.coalesceKey !== undefined) this.#coalesce.set(rec.coalesceKey, rec);
    let lane = this.#lanes.get(rec.lane);
    if (lane === undefined) {
      lane = { key: rec.lane, entries: [], inFlight: 0, attempt: 0, retryAtMs: 0, counts: [0, 0, 0, 0] };
      this.#lanes.set(rec.lane, lane);
    }
    lane.entries.push(rec);
    const r = RANK[rec.priority];
    lane.counts[r] = (lane.counts[r] ?? 0) + 1;
  }

  #remove(rec: Rec<T>): void {
    this.#byId.delete(rec.id);
    this.#byPriority[RANK[rec.priority]]?.delete(rec.id);
    if (rec.coalesceKey !== undefined && this.#coalesce.get(rec.coalesceKey) === rec) this.#coalesce.delete(rec.coalesceKey);
    const lane = this.#lanes.get(rec.lane);
    if (lane === undefined) return;
    const at = lane.entries.indexOf(rec);
    if (at >= 0) lane.entries.splice(at, 1);
    const r = RANK[rec.priority];
    lane.counts[r] = (lane.counts[r] ?? 1) - 1;
    // An empty lane's backoff means nothing: the lane goes (bounded by the lanes holding entries).
    if (lane.entries.length === 0 && lane.inFlight === 0) this.#lanes.delete(rec.lane);
  }
}

/** Whether entries of this class may be evicted (or refused) at the bound. */
export function isEvictable(priority: Priority): boolean {
  return EVICTION_ORDER.includes(priority);
}

function bestRank(lane: Lane<unknown>): number {
  const c = lane.counts;
  for (let i = 0; i < c.length; i++) if ((c[i] ?? 0) > 0) return i;
  return c.length;
}
