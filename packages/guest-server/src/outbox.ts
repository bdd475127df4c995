/**
 * The events toward the agent in the shared outbox (@guesthb/outbox, issue 12 items 3 and 8b): which lane,
 * priority class and coalescing key each event kind takes (README "Outbox"), and the outbox built with
 * them. Alarms (loss, ill-health) and vote results are never dropped; running/stopped of one instance
 * coalesce to the latest; the registration (server-ready) keeps one copy.
 */
import { Outbox, type KeyValueStore, type OutboxItem, type OutboxLog } from '@guesthb/outbox';
import { MAX_EVENTS_PER_BATCH, PeerEventSchema, type BackoffPolicy, type Clock, type PeerEvent } from '@guesthb/protocol';

/** What the agent answered: the acknowledged ids, and whether it asks for a new server-ready. */
export interface BatchAck {
  readonly acked: readonly string[];
  readonly reannounce: boolean;
}

/** Sends one batch; resolves with the acknowledgement, rejects on any failure or when `signal` aborts. */
export type SendBatch = (events: readonly PeerEvent[], signal?: AbortSignal) => Promise<BatchAck>;

/**
 * Retry delays toward the agent: 200 ms doubling to 1 s (± 25 %). The short cap bounds the time from the
 * agent's return to delivery (≈ 1.25 s) even without its announce; a down agent costs one refused
 * connection per second per compute host.
 */
export const AGENT_RETRY: BackoffPolicy = Object.freeze({ baseMs: 200, maxMs: 1_000, jitter: 0.5 });

/**
 * Deadline of one send to the agent: the request is aborted then and retried with the backoff. Twice the
 * agent client's 5 s header/body timeouts, and below what notices a stall (healthz degrades at 15 s of an
 * unacknowledged event): undici's timeouts do not cover its 10 s connect, and nothing covers a promise that
 * never settles, which would hold the one send in flight and every event behind it.
 */
export const AGENT_SEND_DEADLINE_MS = 10_000;

/** The lane of the registration. Instance lanes are uuids (36 characters), so they never meet it. */
export const SERVER_LANE = 'server';

/** Lane, class and coalescing key of an event. */
export function peerEventItem(event: PeerEvent): OutboxItem<PeerEvent> {
  const id = event.id;
  switch (event.kind) {
    case 'server-ready':
      return { id, lane: SERVER_LANE, priority: 'control', coalesceKey: 'server-ready', payload: event };
    case 'running':
    case 'stopped':
      return { id, lane: event.instance.uuid, priority: 'service', coalesceKey: `service:${event.instance.uuid}`, payload: event };
    case 'ill-health':
      // A newer ill-health report of the instance supersedes the older (same alarm, latest action).
      return { id, lane: event.instance.uuid, priority: 'alarm', coalesceKey: `ill-health:${event.instance.uuid}`, payload: event };
    case 'loss':
      return { id, lane: event.uuid, priority: 'alarm', payload: event };
    case 'vote-result':
      return { id, lane: event.uuid, priority: 'vote-result', payload: event };
  }
}

/** The lane of an instance's events (for removeLane at delete). */
export function instanceLane(uuid: string): string {
  return uuid;
}

/** Metric sinks of the outbox toward the agent (implemented by ServerMetrics). */
export interface OutboxMetrics {
  setDepth(depth: number): void;
  /** An event evicted from a full outbox, or refused by it (never an alarm or a vote result). */
  dropped(kind: PeerEvent['kind']): void;
  sent(count: number): void;
  sendFailed(): void;
}

export interface AgentOutboxDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: OutboxLog;
  readonly maxEntries: number;
  readonly send: SendBatch;
  readonly metrics: OutboxMetrics;
  /** Persisted entries (the state directory's journal, scoped); none = in memory only. */
  readonly store?: KeyValueStore;
  /** The agent has no server-ready on record for us (EventAck.reannounce). */
  readonly onReannounce: () => void;
  readonly retry?: BackoffPolicy;
  /** Deadline of one send (default AGENT_SEND_DEADLINE_MS). */
  readonly sendTimeoutMs?: number;
}

/** The outbox toward the agent (restored from the store when one is given). */
export function createAgentOutbox(deps: AgentOutboxDeps): Outbox<PeerEvent> {
  return new Outbox<PeerEvent>({
    clock: deps.clock,
    random: deps.random,
    log: deps.log,
    options: {
      maxEntries: deps.maxEntries, maxBatchEntries: MAX_EVENTS_PER_BATCH, concurrency: 1, backoff: deps.retry ?? AGENT_RETRY,
      sendTimeoutMs: deps.sendTimeoutMs ?? AGENT_SEND_DEADLINE_MS,
    },
    ...(deps.store === undefined ? {} : { store: deps.store }),
    restorePayload: (payload) => {
      const parsed = PeerEventSchema.safeParse(payload);
      return parsed.success ? parsed.data : undefined;
    },
    metrics: {
      depth: (n) => deps.metrics.setDepth(n),
      sent: (n) => deps.metrics.sent(n),
      sendFailed: () => deps.metrics.sendFailed(),
    },
    send: async (entries, signal) => {
      const ack = await deps.send(entries.map((e) => e.payload), signal);
      if (ack.reannounce) deps.onReannounce();
      return { acked: ack.acked };
    },
  });
}
