/** Prometheus metrics of guest-agent, served on the rx_port listener's /metrics (issue 4 item 6). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PeerEventSchema } from '@guesthb/protocol';
import type { InventoryReader } from './inventory.js';
import { VIM_EVENT_KINDS } from './vim-events.js';
import type { VimOutboxObserver } from './vim-outbox.js';
import type { OutboxStats } from '@guesthb/outbox';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly vimRequests: Counter<'route' | 'status'>;
  readonly vimEvents: Counter<'kind' | 'outcome'>;
  readonly outboxDepth: Gauge;
  readonly auditRuns: Counter<'audit' | 'outcome'>;
  readonly serverEvents: Counter<'kind' | 'outcome'>;
  readonly serverCommands: Counter<'command' | 'outcome'>;
  readonly outboxObserver: VimOutboxObserver;
}

/** The VIM outbox's figures read at scrape time. */
export type OutboxFigures = Pick<OutboxStats, 'oldestUnackedAgeMs' | 'oldestInFlightAgeMs'>;

export function createAgentMetrics(inventory: InventoryReader, outbox?: () => OutboxFigures): AgentMetrics {
  const registry = new Registry();
  // Process metrics (CPU, RSS, heap, event-loop lag, GC) under the usual names. prom-client names three
  // gauges *_total, which `promtool check metrics` rejects: they go (nodejs_active_handles{type} stays).
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const vimRequests = new Counter({
    name: 'guest_agent_vim_requests_total', help: 'VIM command requests by route (H1–H5, I1–I6, other) and HTTP status',
    labelNames: ['route', 'status'] as const, registers: [registry],
  });
  const vimEvents = new Counter({
    name: 'guest_agent_vim_events_total',
    help: 'Events to the VIM by kind and outcome (delivered, no-reply, rejected, retry); nothing is dropped or expires (issue 12)',
    labelNames: ['kind', 'outcome'] as const, registers: [registry],
  });
  const outboxDepth = new Gauge({ name: 'guest_agent_outbox_depth', help: 'Events waiting for the VIM', registers: [registry] });
  if (outbox !== undefined) {
    new Gauge({
      name: 'guest_agent_outbox_oldest_age_seconds', help: 'Age of the oldest event the VIM does not have yet (0 when none)', registers: [registry],
      collect() { this.set(outbox().oldestUnackedAgeMs / 1_000); },
    });
    // A batch that does not settle shows here first (bounded by the batch deadline, vimTimeoutMs + 5 s).
    new Gauge({
      name: 'guest_agent_outbox_send_age_seconds', help: 'Age of the batch of VIM events in flight (0 when none)', registers: [registry],
      collect() { this.set(outbox().oldestInFlightAgeMs / 1_000); },
    });
  }
  const auditRuns = new Counter({
    name: 'guest_agent_audit_runs_total', help: 'Audit passes by audit (vim-host-state, vim-host-instances, server) and outcome (ok, error)',
    labelNames: ['audit', 'outcome'] as const, registers: [registry],
  });
  const serverEvents = new Counter({
    name: 'guest_agent_server_events_total', help: 'Events from guest-servers by kind and outcome (new, duplicate)',
    labelNames: ['kind', 'outcome'] as const, registers: [registry],
  });
  const serverCommands = new Counter({
    name: 'guest_agent_server_commands_total', help: 'Commands to guest-servers by command and outcome (ok, error, no-server, dropped)',
    labelNames: ['command', 'outcome'] as const, registers: [registry],
  });
  new Gauge({
    name: 'guest_agent_instances', help: 'Instances by reporting and heartbeating state',
    labelNames: ['reporting', 'heartbeating'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const inst of inventory.instances()) {
        this.inc({ reporting: inst.reporting ? 'enabled' : 'disabled', heartbeating: inst.heartbeating ? 'enabled' : 'disabled' });
      }
    },
  });
  new Gauge({
    name: 'guest_agent_hosts', help: 'Hosts by host-level reporting', labelNames: ['reporting'] as const, registers: [registry],
    collect() {
      this.reset();
      this.set({ reporting: 'enabled' }, 0);
      this.set({ reporting: 'disabled' }, 0);
      for (const host of inventory.hosts()) this.inc({ reporting: host.reporting ? 'enabled' : 'disabled' });
    },
  });
  const coalesced = new Counter({
    name: 'guest_agent_outbox_coalesced_total', help: 'VIM events replaced by a newer one of the same instance before sending, by priority',
    labelNames: ['priority'] as const, registers: [registry],
  });
  // Every known series exists from the start at 0, so rate() and alerts work before the first event.
  for (const route of ['H1', 'H2', 'H3', 'H4', 'H5', 'I1', 'I2', 'I3', 'I4', 'I5', 'I6']) vimRequests.inc({ route, status: '200' }, 0);
  for (const kind of VIM_EVENT_KINDS) for (const outcome of ['delivered', 'no-reply', 'rejected', 'retry']) vimEvents.inc({ kind, outcome }, 0);
  for (const audit of ['vim-host-state', 'vim-host-instances', 'server']) for (const outcome of ['ok', 'error']) auditRuns.inc({ audit, outcome }, 0);
  for (const kind of PeerEventSchema.options.map((o) => o.shape.kind.value)) for (const outcome of ['new', 'duplicate']) serverEvents.inc({ kind, outcome }, 0);
  for (const command of ['put-instance', 'delete-instance', 'put-host']) {
    for (const outcome of ['ok', 'error', 'no-server', 'dropped']) serverCommands.inc({ command, outcome }, 0);
  }
  for (const priority of ['alarm', 'vote-result', 'service']) coalesced.inc({ priority }, 0);
  const outboxObserver: VimOutboxObserver = {
    sent: (kind, outcome) => vimEvents.inc({ kind, outcome }),
    depth: (items) => outboxDepth.set(items),
    coalesced: (priority) => coalesced.inc({ priority }),
  };
  return { registry, vimRequests, vimEvents, outboxDepth, auditRuns, serverEvents, serverCommands, outboxObserver };
}
