/** The original's instance-info record (daemons §3.6) built from an instance's state. Pure. */
import type { CorrectiveAction, InstanceInfo } from '@guesthb/protocol';
import type { InstanceState } from './instance-state.js';

/** `repairAction` overrides the init corrective action (the unhealthy action inside an ill-health event). */
export function buildInstanceInfo(hostname: string, uuid: string, s: InstanceState, repairAction?: CorrectiveAction): InstanceInfo {
  const p = s.params;
  return {
    hostname,
    uuid,
    reporting: s.reporting ? 'enabled' : 'disabled',
    heartbeating: s.heartbeating ? 'enabled' : 'disabled',
    'repair-action': repairAction ?? p.correctiveAction,
    'restart-to': String(p.restartSecs),
    'shutdown-to': String(p.shutdownSecs),
    'suspend-to': String(p.suspendSecs),
    'resume-to': String(p.resumeSecs),
    'vote-to': String(p.voteSecs),
    // For the operator's view (issue 15): known once the guest has sent init.
    ...(p.invocationId === 0 ? {} : { name: p.name, intervalMs: p.intervalMs }),
    misses: s.cycle.kind === 'cycling' ? s.cycle.misses : 0,
    // An answered challenge's round trip: the answer is the last sign of life of the cycle.
    ...(s.cycle.kind === 'cycling' && s.answered && s.lastSignAt >= s.cycle.sentAt
      ? { lastRttMs: Math.round((s.lastSignAt - s.cycle.sentAt) * 1000) / 1000 }
      : {}),
  };
}
