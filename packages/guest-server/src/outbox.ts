/**
 * The bounded outbox of events toward the agent (DESIGN.md §3): FIFO (so per-instance order holds), one
 * batch in flight, retried with backoff and jitter until acknowledged. When full, it makes room by
 * dropping the oldest event of the least critical kind (README "Outbox policy"), with a metric and an
 * error log: ill-health first, then running/stopped/server-ready (state the agent's 10 s query audit
 * restores), and loss/vote-result only when nothing else is left.
 */
import type { Logger } from 'pino';
import { MAX_EVENTS_PER_BATCH, backoffDelayMs, type BackoffPolicy, type Clock, type PeerEvent, type PeerEventKind, type TimerHandle } from '@guesthb/protocol';

/** What the agent answered: the acknowledged ids, and whether it asks for a new server-ready. */
export interface BatchAck {
  readonly acked: readonly string[];
  readonly reannounce: boolean;
}

/** Sends one batch; resolves with the acknowledgement, rejects on any failure. */
export type SendBatch = (events: readonly PeerEvent[]) => Promise<BatchAck>;

export interface OutboxMetrics {
  setDepth(depth: number): void;
  dropped(kind: PeerEventKind): void;
  sent(count: number): void;
  sendFailed(): void;
}

export interface OutboxDeps {
  readonly maxEvents: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly send: SendBatch;
  readonly metrics: OutboxMetrics;
  readonly retry?: BackoffPolicy;
  /** The agent has no server-ready on record for us (EventAck.reannounce). */
  readonly onReannounce?: () => void;
}

/** Lower drops first. */
const DROP_RANK: Readonly<Record<PeerEventKind, number>> = {
  'ill-health': 0,
  running: 1,
  stopped: 1,
  'server-ready': 1,
  loss: 2,
  'vote-result': 2,
};

export const DEFAULT_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.5 };

export class Outbox {
  readonly #deps: OutboxDeps;
  #queue: PeerEvent[] = [];
  #inFlight: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;
  /** Failed sends since start (drain stops at the first new one). */
  #failures = 0;
  #closed = false;
  #started = false;

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
  }

  get depth(): number {
    return this.#queue.length;
  }

  /** Whether an event of this kind is waiting. */
  has(kind: PeerEventKind): boolean {
    return this.#queue.some((e) => e.kind === kind);
  }

  /** Consecutive failed sends (0 when the agent is reachable). */
  get failedAttempts(): number {
    return this.#attempt;
  }

  /** Starts delivering; events pushed before start wait (server-ready is pushed first). */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  push(event: PeerEvent): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#deps.maxEvents) this.#dropOne();
    this.#queue.push(event);
    this.#deps.metrics.setDepth(this.#queue.length);
    this.#pump();
  }

  /**
   * Gives queued events up to `timeoutMs` to reach the agent (at shutdown, so a loss detected just
   * before SIGTERM is not lost when the agent is up). Resolves early when the queue is empty.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#closed || this.#queue.length === 0) return;
    this.retryNow();
    const deadline = this.#deps.clock.now() + timeoutMs;
    while (this.#queue.length > 0 && this.#deps.clock.now() < deadline) {
      const inFlight = this.#inFlight;
      if (inFlight === undefined) break;   // waiting out a backoff: the agent is failing
      const failuresBefore = this.#failures;
      await inFlight;
      if (this.#failures > failuresBefore) break;
    }
  }

  /** Stops retrying; waits for a batch in flight (the caller bounds this with its deadline). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  /** Sends now if the outbox is waiting out a backoff (e.g. the agent just announced itself). */
  retryNow(): void {
    if (this.#timer === undefined) return;
    this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  #dropOne(): void {
    let victim = 0;
    let rank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#queue.length; i++) {
      const r = DROP_RANK[this.#queue[i]?.kind ?? 'loss'];
      if (r < rank) {
        rank = r;
        victim = i;
        if (r === 0) break;
      }
    }
    const [dropped] = this.#queue.splice(victim, 1);
    if (dropped === undefined) return;
    this.#deps.metrics.dropped(dropped.kind);
    this.#deps.log.error({ eventId: dropped.id, kind: dropped.kind, maxEvents: this.#deps.maxEvents }, 'outbox full: event dropped');
  }

  #pump(): void {
    if (!this.#started || this.#closed || this.#inFlight !== undefined || this.#timer !== undefined) return;
    if (this.#queue.length === 0) return;
    const batch = this.#queue.slice(0, MAX_EVENTS_PER_BATCH);
    this.#inFlight = this.#deps.send(batch).then(
      (ack) => {
        this.#onAcked(batch, ack.acked);
        if (ack.reannounce) this.#deps.onReannounce?.();
      },
      (err: unknown) => this.#onFailed(err),
    ).finally(() => {
      this.#inFlight = undefined;
      this.#pump();
    });
  }

  #onAcked(batch: readonly PeerEvent[], acked: readonly string[]): void {
    const ids = new Set(acked);
    const before = this.#queue.length;
    if (ids.size > 0) this.#queue = this.#queue.filter((e) => !ids.has(e.id));
    const removed = before - this.#queue.length;
    this.#deps.metrics.setDepth(this.#queue.length);
    this.#deps.metrics.sent(removed);
    if (removed === 0) {
      this.#onFailed(new Error(`agent acknowledged none of ${batch.length} events`));
      return;
    }
    if (this.#attempt > 0) this.#deps.log.info({ afterAttempts: this.#attempt }, 'agent reachable again');
    this.#attempt = 0;
  }

  #onFailed(err: unknown): void {
    if (this.#closed) return;
    this.#failures++;
    this.#attempt++;
    const delayMs = backoffDelayMs(this.#deps.retry ?? DEFAULT_RETRY, this.#attempt, this.#deps.random);
    this.#deps.metrics.sendFailed();
    const level = this.#attempt === 1 || this.#attempt % 20 === 0 ? 'warn' : 'debug';
    this.#deps.log[level]({ err, attempt: this.#attempt, retryInMs: delayMs, depth: this.#queue.length }, 'event delivery to agent failed');
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delayMs);
  }
}
