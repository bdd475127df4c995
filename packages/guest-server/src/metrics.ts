/** Prometheus metrics of guest-server (prom-client, own registry). Names are documented in README.md. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PeerEventSchema, type PeerEventKind } from '@guesthb/protocol';
import type { CountName } from './instance-state.js';
import type { OutboxMetrics } from './outbox.js';
import type { SessionMetrics } from './instance-session.js';
import type { BudgetDropKind } from './guest-budget.js';
import { HeartbeatCounter, HeartbeatHistogram } from './heartbeat-metrics.js';

export class ServerMetrics implements SessionMetrics, OutboxMetrics {
  readonly registry = new Registry();
  readonly #counters: Readonly<Record<CountName, HeartbeatCounter>>;
  readonly #latency: HeartbeatHistogram;
  readonly #outboxDepth: Gauge;
  readonly #dropped: Counter<'kind'>;
  readonly #eventsSent: Counter;
  readonly #sendFailures: Counter;

  /** `instancesByState` is called at scrape time, so no gauge is updated per heartbeat. */
  constructor(instancesByState: () => ReadonlyMap<string, number>) {
    const r = [this.registry];
    // Process metrics (CPU, RSS, heap, event-loop lag) under the usual names, in our own registry.
    // The event-loop delay monitor samples every 100 ms, not prom-client's default 10 ms: those 100 wake-ups
    // a second were two thirds of an idle server's context switches (145 → 54/s at 100 guests, issue 17).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    // prom-client names three gauges *_total, which `promtool check metrics` rejects (the suffix is for
    // counters); the same figures remain as nodejs_active_handles{type} and nodejs_active_requests{type}.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: r });
    // Counted per heartbeat: summed locally, handed to prom-client at scrape time (heartbeat-metrics.ts, issue 17).
    const beat = (name: string, help: string): HeartbeatCounter => new HeartbeatCounter(name, help, r);
    this.#counters = {
      challenge: beat('guest_server_challenges_total', 'Challenges sent to guests'),
      miss: beat('guest_server_misses_total', 'Heartbeat windows without a valid response'),
      loss: beat('guest_server_losses_total', 'Heartbeat losses declared'),
      'ill-health': beat('guest_server_ill_health_reports_total', 'Ill-health reports raised'),
      reconnect: beat('guest_server_reconnects_total', 'Channel disconnects and forced reconnects'),
      nack: beat('guest_server_nacks_total', 'Nacks sent to guests'),
      mismatch: beat('guest_server_challenge_mismatches_total', 'Responses that did not echo the challenge'),
      'late-response': beat('guest_server_late_responses_total', 'Responses after the window was already answered'),
    };
    // Updated per heartbeat: typed-array counts read at scrape time (heartbeat-metrics.ts, issue 17).
    this.#latency = new HeartbeatHistogram({
      name: 'guest_server_challenge_response_seconds',
      help: 'Time from a challenge to its valid response',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    this.#lateness = new HeartbeatHistogram({
      name: 'guest_server_challenge_lateness_seconds',
      help: 'How late each challenge went out against its schedule',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    });
    this.#responses = beat('guest_server_responses_total', 'Valid challenge responses');
    this.#outboxDepth = new Gauge({ name: 'guest_server_outbox_depth', help: 'Events waiting for the agent', registers: r });
    this.#dropped = new Counter({ name: 'guest_server_outbox_dropped_total', help: 'Events dropped from a full outbox', labelNames: ['kind'], registers: r });
    // Every series exists from the start at 0, so rate() and alerts work before the first drop.
    for (const kind of PeerEventSchema.options.map((o) => o.shape.kind.value)) this.#dropped.inc({ kind }, 0);
    this.#eventsSent = counter('guest_server_events_sent_total', 'Events acknowledged by the agent');
    this.#sendFailures = counter('guest_server_event_send_failures_total', 'Failed POST /v1/events attempts');
    new Gauge({
      name: 'guest_server_instances',
      help: 'Instances by heartbeat state',
      labelNames: ['state'],
      registers: r,
      collect(): void {
        this.reset();
        for (const [state, n] of instancesByState()) this.set({ state }, n);
      },
    });
    // Every series of the labelled counters exists from the start at 0 (rate() and alerts before a first event).
    for (const kind of ['messages', 'reinit', 'bytes', 'reads'] satisfies BudgetDropKind[]) this.#budgetDrops.inc({ kind }, 0);
    for (const reason of ['max-connections', 'per-address']) this.#connectionsRefused.inc({ reason }, 0);
  }

  readonly #responses: HeartbeatCounter;
  readonly #lateness: HeartbeatHistogram;
  readonly #budgetDrops = new Counter({
    name: 'guest_server_guest_budget_drops_total',
    help: 'Guest input over its budget: messages and inits dropped, reads paused for bytes or reads (issue 11)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #logSuppressed = new Counter({
    name: 'guest_server_log_lines_suppressed_total',
    help: 'Per-instance log lines held back by the log rate limit',
    registers: [this.registry],
  });

  budgetDrop(kind: BudgetDropKind, n = 1): void {
    this.#budgetDrops.inc({ kind }, n);
  }

  logSuppressed(): void {
    this.#logSuppressed.inc();
  }

  readonly #connectionsRefused = new Counter({
    name: 'guest_server_http_connections_refused_total',
    help: 'Connections to the API closed at accept by its limits (max-connections, per-address)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  /** Health gauges read at scrape time: problems (0 = ok) and an unauthenticated peer port by opt-out. */
  registerHealth(source: () => { readonly reasons: readonly string[]; readonly warnings: readonly string[] }): void {
    new Gauge({
      name: 'guest_server_health_problems',
      help: 'Reasons the server is degraded (0 = ok; the reasons are in /healthz): agent unreachable or refusing the token, events unacknowledged, never commanded',
      registers: [this.registry],
      collect(): void {
        this.set(source().reasons.length);
      },
    });
    new Gauge({
      name: 'guest_server_unauthenticated',
      help: '1 when the peer API listens beyond loopback without a token ([client] allow_unauthenticated = true)',
      registers: [this.registry],
      collect(): void {
        this.set(source().warnings.length > 0 ? 1 : 0);
      },
    });
  }

  /**
   * The state directory (issue 12): the journal's size and write errors, and the age of the oldest event
   * the agent has not acknowledged. Read at scrape time.
   */
  registerState(source: {
    readonly journal: () => { readonly fileBytes: number; readonly writeErrors: number; readonly compactions: number };
    readonly outbox: () => { readonly oldestUnackedAgeMs: number; readonly oldestInFlightAgeMs: number };
  }): void {
    const gauge = (name: string, help: string, read: () => number): Gauge => new Gauge({
      name, help, registers: [this.registry],
      collect(): void {
        this.set(read());
      },
    });
    // Counts kept by the journal, exposed as counters (incremented by what changed since the last scrape).
    const counter = (name: string, help: string, read: () => number): Counter => {
      let seen = 0;
      return new Counter({
        name, help, registers: [this.registry],
        collect(): void {
          const now = read();
          if (now > seen) this.inc(now - seen);
          seen = now;
        },
      });
    };
    gauge('guest_server_state_journal_bytes', 'Size of the state directory\'s journal file', () => source.journal().fileBytes);
    counter('guest_server_state_journal_write_errors_total', 'Journal writes that failed (disk full, I/O error): state may not survive a restart', () => source.journal().writeErrors);
    counter('guest_server_state_journal_compactions_total', 'Journal compactions', () => source.journal().compactions);
    gauge('guest_server_outbox_oldest_age_seconds', 'Age of the oldest event the agent has not acknowledged (0 when none)', () => source.outbox().oldestUnackedAgeMs / 1_000);
    // A send that does not settle shows here first (bounded by the send deadline, 10 s).
    gauge('guest_server_outbox_send_age_seconds', 'Age of the send to the agent in flight (0 when none)', () => source.outbox().oldestInFlightAgeMs / 1_000);
  }

  connectionRefused(reason: string): void {
    this.#connectionsRefused.inc({ reason });
  }

  observeLatenessMs(ms: number): void {
    this.#lateness.observe(ms / 1000);
  }

  count(name: CountName): void {
    this.#counters[name].inc();
  }

  observeLatencyMs(ms: number): void {
    this.#responses.inc();
    this.#latency.observe(ms / 1000);
  }

  setDepth(depth: number): void {
    this.#outboxDepth.set(depth);
  }

  dropped(kind: PeerEventKind): void {
    this.#dropped.inc({ kind });
  }

  sent(count: number): void {
    if (count > 0) this.#eventsSent.inc(count);
  }

  sendFailed(): void {
    this.#sendFailures.inc();
  }
}
