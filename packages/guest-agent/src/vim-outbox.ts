/**
 * The event transmitter's outbox (issue 12 item 3) on the shared @guesthb/outbox: one lane per instance
 * (its events reach the VIM in order), alarms first, then vote results, then service events; a service
 * event replaces the instance's older one still waiting (the latest state is what the VIM needs), and an
 * alarm replaces an older alarm of the same kind. Alarms and vote results are never evicted and nothing
 * expires: memory is bounded by coalescing (at most a few entries per instance). A whole-send failure
 * backs off the whole queue (the VIM is down); the first success ends every backoff, so the queue drains
 * at once when the VIM is back. Enqueue never waits, so a slow VIM never blocks anything else (the
 * original blocked its main loop for up to 20 s: daemons §9 item 21).
 *
 * Alarms and vote results are persisted in the agent's journal (the outbox's store) when they are
 * queued, before the server's event is acknowledged, and come back after a restart; service events are
 * not (the server audit re-derives them).
 */
import {
  Outbox, type KeyValueStore, type OutboxItem, type OutboxLog, type OutboxOptions, type OutboxStats, type Priority, type QueuedEntry, type SettleResult,
} from '@guesthb/outbox';
import type { Clock } from '@guesthb/protocol';
import type { SendOutcome } from './vim-client.js';
import { VIM_EVENT_KINDS, type VimEvent, type VimEventKind } from './vim-events.js';

export interface VimOutboxObserver {
  sent(kind: VimEventKind, outcome: SendOutcome): void;
  depth(items: number): void;
  coalesced(priority: Priority): void;
}

export const DEFAULT_VIM_OUTBOX_OPTIONS: OutboxOptions = Object.freeze({
  maxEntries: 10_000,
  maxBatchEntries: 32,
  /** Lanes sent at once within a batch (the VIM's listener is single-threaded: vim §2.1). */
  concurrency: 1,
  backoff: Object.freeze({ baseMs: 200, maxMs: 1_000, jitter: 0.5 }),
  /**
   * Deadline of one batch: 5 s past the VIM request timeout (20 s), so a request that times out on its own
   * ends its batch first; what is still going then is aborted (createGuestAgent derives it from vimTimeoutMs).
   */
  sendTimeoutMs: 25_000,
});

/** Requests in flight at once inside one batch (one per lane). */
const LANES_AT_ONCE = 4;

export interface VimOutboxDeps {
  readonly clock: Clock;
  readonly random: () => number;
  /** One request; `signal` aborts it at the batch deadline (the outcome is then `retry`). */
  readonly send: (event: VimEvent, signal: AbortSignal) => Promise<SendOutcome>;
  /** The listener has it (delivered, no-reply or rejected): it will not be sent again. */
  readonly onDelivered: (event: VimEvent) => void;
  /**
   * The event will never be sent: evicted at the bound or refused (service events only). The agent forgets
   * that it told the VIM this state, so the level-triggered audit sends the instance's state again.
   */
  readonly onDropped?: (event: VimEvent) => void;
  readonly log: OutboxLog;
  readonly observer: VimOutboxObserver;
  readonly options?: Partial<OutboxOptions>;
  /** The journal scope for alarms and vote results; undefined = in memory only. */
  readonly store?: KeyValueStore;
}

let serviceSeq = 0;

/** The outbox item of a VIM event: lane, priority, coalescing key and a stable id for alarms/results. */
export function vimOutboxItem(event: VimEvent, nowMs: number): OutboxItem<VimEvent> {
  switch (event.kind) {
    case 'alarm-failed':
    case 'alarm-unhealthy': {
      const tag = event.kind === 'alarm-failed' ? 'f' : 'u';
      return { id: `${tag}:${event.uuid}:${event.episode ?? nowMs}`, lane: event.uuid, priority: 'alarm', coalesceKey: `${tag}:${event.uuid}`, payload: event };
    }
    case 'action':
      return { id: `r:${event.uuid}:${event.episode ?? nowMs}`, lane: event.uuid, priority: 'vote-result', payload: event };
    case 'service':
      return { id: `s:${event.uuid}:${nowMs}:${++serviceSeq}`, lane: event.uuid, priority: 'service', coalesceKey: `s:${event.uuid}`, payload: event };
  }
}

/** Only alarms and vote results go to the journal. */
function durableOnly(store: KeyValueStore): KeyValueStore {
  return {
    get: (key) => store.get(key),
    put: (key, value) => {
      if (!key.startsWith('s:')) store.put(key, value);
    },
    delete: (key) => store.delete(key),
    entries: () => store.entries(),
  };
}

function restorePayload(payload: unknown): VimEvent | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as { kind?: unknown; uuid?: unknown };
  return typeof p.uuid === 'string' && VIM_EVENT_KINDS.includes(p.kind as VimEventKind) ? (payload as VimEvent) : undefined;
}

export class VimOutbox {
  readonly #deps: VimOutboxDeps;
  readonly #outbox: Outbox<VimEvent>;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(deps: VimOutboxDeps) {
    this.#deps = deps;
    this.#outbox = new Outbox<VimEvent>({
      clock: deps.clock, random: deps.random, log: deps.log,
      options: { ...DEFAULT_VIM_OUTBOX_OPTIONS, ...deps.options },
      send: (entries, signal) => this.#send(entries, signal),
      metrics: {
        depth: (n) => {
          deps.observer.depth(n);
          if (n === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
        },
        coalesced: (p) => deps.observer.coalesced(p),
      },
      ...(deps.store === undefined ? {} : { store: durableOnly(deps.store), restorePayload }),
    });
  }

  get size(): number {
    return this.#outbox.depth;
  }

  /** Waiting events, oldest first. */
  events(): VimEvent[] {
    return this.#outbox.entries().map((e) => e.payload);
  }

  start(): void {
    this.#outbox.start();
  }

  /** Queues an event for its instance's lane; never blocks. */
  enqueue(event: VimEvent): void {
    const outcome = this.#outbox.push(vimOutboxItem(event, this.#deps.clock.now()));
    if (outcome.result === 'refused') this.#deps.onDropped?.(event);
    else if (outcome.result === 'queued' && outcome.evicted !== undefined) this.#deps.onDropped?.(outcome.evicted.payload);
  }

  /** Resolves when nothing is queued (tests). */
  whenIdle(): Promise<void> {
    if (this.#outbox.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops sending; what waits stays in the journal (when there is one). */
  close(): Promise<void> {
    return this.#outbox.close();
  }

  /** Depth, oldest unacknowledged age, age of the batch in flight, failures (metrics and /healthz). */
  stats(): OutboxStats {
    return this.#outbox.stats();
  }

  toJSON(): object {
    return this.stats();
  }

  /**
   * One batch: lanes in parallel (a few at once), each lane's events in order, a lane stops at its first
   * failure and no lane starts after one. At the batch deadline (`signal`) the requests in flight are aborted
   * and nothing more starts: the batch settles with what the VIM has.
   */
  async #send(entries: readonly QueuedEntry<VimEvent>[], signal: AbortSignal): Promise<SettleResult> {
    const lanes = new Map<string, QueuedEntry<VimEvent>[]>();
    for (const entry of entries) {
      const list = lanes.get(entry.lane) ?? [];
      list.push(entry);
      lanes.set(entry.lane, list);
    }
    const acked: string[] = [];
    const rejected: string[] = [];
    let failures = 0;
    const queue = [...lanes.values()];
    const worker = async (): Promise<void> => {
      for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
        for (const entry of lane) {
          // Past the batch deadline nothing more starts (and nothing unsent is counted as a retry).
          if (signal.aborted) {
            queue.length = 0;
            break;
          }
          const outcome = await this.#deps.send(entry.payload, signal).catch((): SendOutcome => 'retry');
          this.#deps.observer.sent(entry.payload.kind, outcome);
          if (outcome === 'retry') {
            failures++;
            // Start no further lane of this batch: lanes are ordered by priority, so a listener that comes
            // back mid-batch would otherwise take the service events of the later lanes before the alarm
            // whose lane just failed (the next batch puts it first again).
            queue.length = 0;
            break;
          }
          (outcome === 'rejected' ? rejected : acked).push(entry.id);
          this.#deps.onDelivered(entry.payload);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES_AT_ONCE, lanes.size) }, worker));
    if (acked.length === 0 && rejected.length === 0 && signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('VIM batch past its deadline');
    if (acked.length === 0 && rejected.length === 0 && failures > 0) throw new Error('VIM event listener unreachable');
    return { acked, rejected };
  }
}
