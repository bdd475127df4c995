/** Prometheus metrics of guest-agent, served on the rx_port listener's /metrics (issue 4 item 6). */
import { Counter, Gauge, Registry } from 'prom-client';
import type { InventoryReader } from './inventory.js';
import type { VimOutboxObserver } from './vim-outbox.js';

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

export function createAgentMetrics(inventory: InventoryReader): AgentMetrics {
  const registry = new Registry();
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
  const outboxObserver: VimOutboxObserver = {
    sent: (kind, outcome) => vimEvents.inc({ kind, outcome }),
    depth: (items) => outboxDepth.set(items),
    coalesced: (priority) => coalesced.inc({ priority }),
  };
  return { registry, vimRequests, vimEvents, outboxDepth, auditRuns, serverEvents, serverCommands, outboxObserver };
}
