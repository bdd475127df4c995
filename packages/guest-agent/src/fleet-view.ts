/**
 * The operator's view of one instance and one host (issue 15), as pure functions of what the agent knows:
 * its inventory records, the last guest-server event about the instance and the server's last contact.
 * No I/O and no clock here: `nowMs` is an input.
 */
import type {
  InstanceInfo, InstanceState, OperatorCorroboration, OperatorHost, OperatorInstance, OperatorLastEvent, OperatorServer, PeerEvent, StateCounts,
} from '@guesthb/protocol';
import { INSTANCE_STATES } from '@guesthb/protocol';
import type { Host, Instance, ServerRecord } from './inventory.js';

/** What the last events say about an instance beyond the inventory's heartbeating flag. */
export type GuestCondition = 'ok' | 'unhealthy' | 'failed' | 'disconnected' | 'none';

export interface InstanceFacts {
  readonly lastEvent: OperatorLastEvent;
  /** The last loss or ill-health report's corroboration (issue 16), kept across later events. */
  readonly corroboration?: OperatorCorroboration | undefined;
  readonly condition: GuestCondition;
}

/** What guest-server reports of the guest itself (optional InstanceInfo fields of issue 15). */
export interface GuestDetail {
  readonly name: string | null;
  readonly intervalMs: number | null;
  readonly misses: number | null;
  readonly lastRttMs: number | null;
}

/** The detail an InstanceInfo carries; a field the server did not send keeps its previous value. */
export function detailOf(info: InstanceInfo, previous: GuestDetail | undefined): GuestDetail {
  return {
    name: info.name ?? previous?.name ?? null,
    intervalMs: info.intervalMs ?? previous?.intervalMs ?? null,
    misses: info.misses ?? previous?.misses ?? null,
    lastRttMs: info.lastRttMs ?? previous?.lastRttMs ?? null,
  };
}

/** Stop reasons that mean the guest's channel went away (the guest did not just stop being monitored). */
const GONE_REASONS: ReadonlySet<string> = new Set(['disconnect', 'exit', 'channel-removed']);

/**
 * The facts a server event leaves about its instance, given the previous ones. `undefined` for
 * server-ready (not about an instance). A vote result keeps the previous condition.
 */
export function factsOf(event: PeerEvent, previous: InstanceFacts | undefined): InstanceFacts | undefined {
  const facts = eventFactsOf(event, previous);
  if (facts === undefined) return undefined;
  // Issue 16: the class goes into the last event's text; the whole record stays until the next report.
  if ((event.kind === 'loss' || event.kind === 'ill-health') && event.corroboration !== undefined) {
    const corroboration: OperatorCorroboration = { ...event.corroboration, report: event.kind, atMs: event.atMs };
    return { ...facts, lastEvent: { ...facts.lastEvent, detail: `${facts.lastEvent.detail}; host: ${corroboration.class}` }, corroboration };
  }
  return previous?.corroboration === undefined ? facts : { ...facts, corroboration: previous.corroboration };
}

function eventFactsOf(event: PeerEvent, previous: InstanceFacts | undefined): InstanceFacts | undefined {
  const at = event.atMs;
  switch (event.kind) {
    case 'server-ready':
      return undefined;
    case 'running':
      return { lastEvent: { kind: 'running', detail: 'heartbeating', atMs: at }, condition: 'ok' };
    case 'ill-health':
      return { lastEvent: { kind: 'ill-health', detail: event.logMsg, atMs: at }, condition: 'unhealthy' };
    case 'loss':
      return { lastEvent: { kind: 'loss', detail: `heartbeat lost (action ${event.correctiveAction})`, atMs: at }, condition: 'failed' };
    case 'stopped': {
      let condition: GuestCondition = 'none';
      if (event.reason === 'loss') condition = 'failed';
      else if (GONE_REASONS.has(event.reason)) condition = 'disconnected';
      return { lastEvent: { kind: 'stopped', detail: event.reason, atMs: at }, condition };
    }
    case 'vote-result':
      return {
        lastEvent: { kind: 'vote-result', detail: `${event.eventType} ${event.notificationType}: ${event.vote}${event.reason === '' ? '' : ` (${event.reason})`}`, atMs: at },
        condition: previous?.condition ?? 'none',
      };
  }
}

/** The uuid a server event is about, or undefined (server-ready). */
export function uuidOf(event: PeerEvent): string | undefined {
  switch (event.kind) {
    case 'server-ready': return undefined;
    case 'running': case 'stopped': case 'ill-health': return event.instance.uuid;
    case 'loss': case 'vote-result': return event.uuid;
  }
}

/** Whether the host lets loss alarms through: the VIM's host reporting, or open while the VIM has not spoken. */
function hostMonitored(host: Host | undefined): boolean {
  return host === undefined || !host.reportingFromVim || host.reporting;
}

/**
 * The state column. Order matters: reporting off wins (nothing is watched), then an unreachable server
 * (the agent cannot know), then a loss (until the guest heartbeats again), then heartbeating.
 */
export function deriveState(inst: Instance, host: Host | undefined, serverReachable: boolean, facts: InstanceFacts | undefined): InstanceState {
  if (!inst.reporting || !hostMonitored(host)) return 'not-monitored';
  if (!serverReachable) return 'disconnected';
  const condition = facts?.condition ?? 'none';
  if (condition === 'failed') return 'failed';
  if (inst.heartbeating) return condition === 'unhealthy' ? 'unhealthy' : 'healthy';
  if (condition === 'disconnected') return 'disconnected';
  return 'waiting-init';
}

export function instanceView(
  inst: Instance, host: Host | undefined, serverReachable: boolean, facts: InstanceFacts | undefined, detail?: GuestDetail,
): OperatorInstance {
  return {
    uuid: inst.uuid, hostname: inst.hostname, name: detail?.name ?? null, reporting: inst.reporting, heartbeating: inst.heartbeating,
    state: deriveState(inst, host, serverReachable, facts), correctiveAction: inst.correctiveAction,
    intervalMs: detail?.intervalMs ?? null, lastRttMs: detail?.lastRttMs ?? null, misses: detail?.misses ?? null,
    lastEvent: facts?.lastEvent ?? null,
    ...(facts?.corroboration === undefined ? {} : { corroboration: facts.corroboration }),
  };
}

/** A server counts as reachable when the agent heard from it (event or audit) within `windowMs`. */
export function serverView(server: ServerRecord, nowMs: number, windowMs: number, outboxDepth: number | null = null): OperatorServer {
  const ago = Math.max(0, Math.round(nowMs - server.lastContactMs));
  return { url: server.url, bootId: server.bootId, reachable: ago <= windowMs, lastContactAgoMs: ago, outboxDepth };
}

export function emptyCounts(): StateCounts {
  const counts = {} as StateCounts;
  for (const s of INSTANCE_STATES) counts[s] = 0;
  return counts;
}

export function hostView(host: Host, server: OperatorServer | null, instances: number, states: StateCounts): OperatorHost {
  return { hostname: host.hostname, uuid: host.uuid ?? null, reporting: host.reporting, server, instances, states };
}
