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
  };
}
