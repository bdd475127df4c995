/**
 * The event transmitter's outbox (issue 4 item 4): events to the VIM wait here, one queue per instance so
 * their order is kept, one request in flight per instance, a few in flight overall. A failed send is
 * retried after an exponential backoff with jitter (injected random and Clock) until it is delivered,
 * rejected or older than maxAgeMs. The outbox is bounded: when full, the oldest waiting event is dropped
 * (a metric and a log line). Enqueue never waits, so a slow VIM never blocks the command receiver or
 * server events (the original blocked its main loop for up to 20 s: daemons §9 item 21).
 */
import type { Logger } from 'pino';
import { backoffDelayMs, type BackoffPolicy, type Clock, type TimerHandle } from '@guesthb/protocol';
import type { SendOutcome } from './vim-client.js';
import type { VimEvent, VimEventKind } from './vim-events.js';

export type DropReason = 'full' | 'expired' | 'closed';

export interface OutboxObserver {
  sent(kind: VimEventKind, outcome: SendOutcome): void;
  dropped(kind: VimEventKind, reason: DropReason): void;
  depth(items: number): void;
}

export interface OutboxOptions {
  readonly maxItems: number;
  readonly maxAgeMs: number;
  readonly concurrency: number;
  readonly backoff: BackoffPolicy;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = {
  maxItems: 10_000,
  maxAgeMs: 5 * 60_000,
  concurrency: 4,
  backoff: { baseMs: 500, maxMs: 30_000, jitter: 0.5 },
};

export interface OutboxDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly send: (event: VimEvent) => Promise<SendOutcome>;
  readonly log: Logger;
  readonly observer: OutboxObserver;
  readonly options: OutboxOptions;
}

interface Item {
  readonly event: VimEvent;
  readonly seq: number;
  readonly enqueuedAtMs: number;
}

interface Lane {
  readonly items: Item[];
  inFlight: boolean;
  attempt: number;
  timer: TimerHandle | undefined;
}

export class VimOutbox {
  readonly #deps: OutboxDeps;
  readonly #lanes = new Map<string, Lane>();
  readonly #ready: string[] = [];
  #size = 0;
  #seq = 0;
  #inFlight = 0;
  #closed = false;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#size;
  }

  /** Queues an event for its instance's lane; never blocks. */
  enqueue(event: VimEvent): void {
    if (this.#closed) {
      this.#deps.observer.dropped(event.kind, 'closed');
      return;
    }
    if (this.#size >= this.#deps.options.maxItems) this.#dropOldest();
    let lane = this.#lanes.get(event.uuid);
    if (lane === undefined) {
      lane = { items: [], inFlight: false, attempt: 0, timer: undefined };
      this.#lanes.set(event.uuid, lane);
    }
    lane.items.push({ event, seq: ++this.#seq, enqueuedAtMs: this.#deps.clock.now() });
    this.#size++;
    this.#deps.observer.depth(this.#size);
    if (!lane.inFlight && lane.timer === undefined && lane.items.length === 1) this.#ready.push(event.uuid);
    this.#pump();
  }

  /** Resolves when nothing is queued or in flight (tests, graceful close). */
  whenIdle(): Promise<void> {
    if (this.#size === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops retries and drops what waits (logged with a count). In-flight requests end with the dispatcher. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let dropped = 0;
    for (const lane of this.#lanes.values()) {
      if (lane.timer !== undefined) this.#deps.clock.clearTimeout(lane.timer);
      lane.timer = undefined;
      for (const item of lane.items.splice(lane.inFlight ? 1 : 0)) {
        this.#deps.observer.dropped(item.event.kind, 'closed');
        dropped++;
      }
    }
    this.#size -= dropped;
    this.#deps.observer.depth(this.#size);
    if (dropped > 0) this.#deps.log.warn({ dropped }, 'VIM events dropped at close');
    this.#notifyIdle();
  }

  toJSON(): object {
    return { size: this.#size, lanes: this.#lanes.size, inFlight: this.#inFlight, ready: this.#ready.length };
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.#deps.options.concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift();
      const lane = key === undefined ? undefined : this.#lanes.get(key);
      if (key === undefined || lane === undefined || lane.inFlight || lane.items.length === 0) continue;
      this.#start(key, lane);
    }
    this.#notifyIdle();
  }

  #start(key: string, lane: Lane): void {
    const item = lane.items[0];
    if (item === undefined) return;
    lane.inFlight = true;
    this.#inFlight++;
    this.#deps.send(item.event).then(
      (outcome) => this.#finish(key, lane, item, outcome),
      (err: unknown) => {
        this.#deps.log.error({ err, kind: item.event.kind }, 'VIM send failed unexpectedly');
        this.#finish(key, lane, item, 'retry');
      },
    );
  }

  #finish(key: string, lane: Lane, item: Item, outcome: SendOutcome): void {
    lane.inFlight = false;
    this.#inFlight--;
    this.#deps.observer.sent(item.event.kind, outcome);
    const log = this.#deps.log;
    if (lane.items[0] !== item) {
      // Dropped while in flight (close or overflow): nothing left to do for it.
    } else if (outcome === 'retry' && !this.#closed) {
      const age = this.#deps.clock.now() - item.enqueuedAtMs;
      if (age < this.#deps.options.maxAgeMs) {
        lane.attempt++;
        const delayMs = backoffDelayMs(this.#deps.options.backoff, lane.attempt, this.#deps.random);
        if (lane.attempt === 1 || lane.attempt % 10 === 0) log.warn({ uuid: key, kind: item.event.kind, attempt: lane.attempt, delayMs }, 'VIM event not delivered; retrying');
        lane.timer = this.#deps.clock.setTimeout(() => {
          lane.timer = undefined;
          this.#ready.push(key);
          this.#pump();
        }, delayMs);
        this.#pump();
        return;
      }
      this.#remove(lane, item);
      this.#deps.observer.dropped(item.event.kind, 'expired');
      log.error({ uuid: key, kind: item.event.kind, ageMs: age, attempts: lane.attempt + 1 }, 'VIM event dropped: not delivered before max age');
    } else {
      if (outcome === 'rejected') log.warn({ uuid: key, kind: item.event.kind }, 'VIM rejected event');
      else log.debug({ uuid: key, kind: item.event.kind, outcome }, 'VIM event delivered');
      this.#remove(lane, item);
    }
    lane.attempt = 0;
    if (lane.items.length > 0 && lane.timer === undefined) this.#ready.push(key);
    else if (lane.items.length === 0) this.#lanes.delete(key);
    this.#pump();
  }

  #remove(lane: Lane, item: Item): void {
    const index = lane.items.indexOf(item);
    if (index < 0) return;
    lane.items.splice(index, 1);
    this.#size--;
    this.#deps.observer.depth(this.#size);
  }

  /** Drops the oldest event that is not in flight. */
  #dropOldest(): void {
    let victim: { lane: Lane; item: Item; key: string } | undefined;
    for (const [key, lane] of this.#lanes) {
      const item = lane.items[lane.inFlight ? 1 : 0];
      if (item !== undefined && (victim === undefined || item.seq < victim.item.seq)) victim = { lane, item, key };
    }
    if (victim === undefined) return;
    this.#remove(victim.lane, victim.item);
    if (victim.lane.items.length === 0 && !victim.lane.inFlight) {
      if (victim.lane.timer !== undefined) this.#deps.clock.clearTimeout(victim.lane.timer);
      this.#lanes.delete(victim.key);
    }
    this.#deps.observer.dropped(victim.item.event.kind, 'full');
    this.#deps.log.error({ uuid: victim.key, kind: victim.item.event.kind, maxItems: this.#deps.options.maxItems }, 'VIM outbox full: oldest event dropped');
  }

  #notifyIdle(): void {
    if (this.#size !== 0 || this.#inFlight !== 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
