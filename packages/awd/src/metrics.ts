/** Prometheus metrics of awd (README "Metrics"), on a private registry so several instances can coexist. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatchdogMetrics } from './watchdog.js';

export interface AwdMetrics extends WatchdogMetrics {
  readonly registry: Registry;
  nodeConnected(node: string, connected: boolean): void;
}

/**
 * Creates the registry and the counters; label `watchdog` is the object id, `node` the chardev id. The
 * series of the `watchdogs` given exist from the start at 0 (rate() and alerts work before a first event).
 */
export function createMetrics(watchdogs: readonly string[] = []): AwdMetrics {
  const registry = new Registry();
  // Process metrics (CPU, RSS, heap, event-loop lag) as on the other daemons; without prom-client's three
  // gauges named *_total, which `promtool check metrics` rejects.
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const inputs = new Counter({ name: 'awd_inputs_total', help: 'Heartbeat inputs received', labelNames: ['watchdog'], registers: [registry] });
  const pulses = new Counter({ name: 'awd_pulses_total', help: 'Pulses, by whether a peer was there to get them', labelNames: ['watchdog', 'result'], registers: [registry] });
  const timeouts = new Counter({ name: 'awd_timeouts_total', help: 'Watchdog firings (one per outage)', labelNames: ['watchdog'], registers: [registry] });
  const recoveries = new Counter({ name: 'awd_recoveries_total', help: 'Inputs after a firing', labelNames: ['watchdog'], registers: [registry] });
  const notifications = new Counter({ name: 'awd_notifications_total', help: 'Notifications by result', labelNames: ['watchdog', 'result'], registers: [registry] });
  const late = new Histogram({
    name: 'awd_firing_late_seconds',
    help: 'Firing error: actual firing time minus the deadline',
    labelNames: ['watchdog'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const stalls = new Counter({ name: 'awd_stalls_total', help: 'Timer wake-ups late by the stall threshold or more (awd itself stopped or blocked)', labelNames: ['watchdog'], registers: [registry] });
  const connected = new Gauge({ name: 'awd_node_connected', help: '1 when the chardev has a peer', labelNames: ['node'], registers: [registry] });
  for (const watchdog of watchdogs) {
    for (const counter of [inputs, timeouts, recoveries, stalls]) counter.inc({ watchdog }, 0);
    for (const result of ['sent', 'dropped']) pulses.inc({ watchdog, result }, 0);
    for (const result of ['ok', 'failed']) notifications.inc({ watchdog, result }, 0);
  }
  return {
    registry,
    input: (watchdog) => inputs.inc({ watchdog }),
    pulse: (watchdog, sent) => pulses.inc({ watchdog, result: sent ? 'sent' : 'dropped' }),
    timeout: (watchdog, lateMs) => {
      timeouts.inc({ watchdog });
      late.observe({ watchdog }, lateMs / 1000);
    },
    recovered: (watchdog) => recoveries.inc({ watchdog }),
    stalled: (watchdog) => stalls.inc({ watchdog }),
    notification: (watchdog, ok) => notifications.inc({ watchdog, result: ok ? 'ok' : 'failed' }),
    nodeConnected: (node, isUp) => connected.set({ node }, isUp ? 1 : 0),
  };
}
