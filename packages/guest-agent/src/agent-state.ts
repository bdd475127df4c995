/**
 * The agent's domain as data (issue 12 item 8a): the readonly state the reducer (agent-reducer.ts) steps,
 * its inputs (VIM commands, server events, audit replies, VIM delivery outcomes, timer ticks) and its
 * effects (server commands, VIM events, journal writes, logs, metrics). No I/O here.
 */
import type { CorrectiveAction, EventBatch, EventType, InstanceQueryReply, PeerEvent, VimHostInstancesReply, VimServiceState } from '@guesthb/protocol';
import type { ServerCommand } from './inventory.js';
import { PMap } from './pmap.js';
import type { VimEvent } from './vim-events.js';
import type { VimOutcome, VimRequest } from './vim-commands.js';

export interface Host {
  /** Undefined for a host learned from its server's events: the VIM tells the uuid (H1/H2/H3/H5). */
  readonly uuid: string | undefined;
  readonly hostname: string;
  /** Host-level fault reporting (H2/H3, VIM host state). Gates loss alarms. */
  readonly reporting: boolean;
  /**
   * `reporting` is the VIM's word (H1/H2/H3, audit A). False for a host learned after a restart (H5, a
   * server event): until the VIM's host state arrives, the server's own gate is trusted (its value is
   * adopted from the server audit, never pushed to it, and a loss the server sends passes the host gate).
   */
  readonly reportingFromVim: boolean;
  /**
   * The VIM's instance list (audit B) succeeded for this host since the agent started (sticky; reset only
   * when the host's uuid changes). Until then the server audit deletes nothing on this host's server.
   */
  readonly listedByVim: boolean;
  /** The VIM audit has the host's state / instance list (daemons §6.1). */
  readonly gotHostState: boolean;
  readonly gotInstances: boolean;
  /** Monotonic ms of the last VIM audit success, for periodic refresh. */
  readonly vimSyncedAtMs: number | undefined;
}

export interface ServerRecord {
  readonly hostname: string;
  readonly url: string;
  readonly bootId: string;
  /** Monotonic ms of the last event or successful query. */
  readonly lastContactMs: number;
}

/** Notice timeouts as the decimal-second strings the VIM receives; "0" until the server reports (vim §3 item 5). */
export interface NoticeTimeouts {
  readonly restart: string;
  readonly shutdown: string;
  readonly suspend: string;
  readonly resume: string;
  readonly vote: string;
}

export interface Instance {
  readonly uuid: string;
  readonly hostname: string;
  readonly reporting: boolean;
  readonly heartbeating: boolean;
  readonly correctiveAction: CorrectiveAction;
  readonly timeouts: NoticeTimeouts;
  /**
   * Learned from a server event (agent restart) and not yet confirmed by the VIM (I1, I2, audit B): the
   * server's reporting is adopted, and audit B of its host removes it if the VIM does not list it.
   */
  readonly fromServer: boolean;
  /** Agent ms of the last server event applied: an audit reply taken before it is stale for this instance. */
  readonly lastEventAtMs: number | undefined;
}

/** A failed/unhealthy alarm the VIM was told (or is being told: `pending` until the listener has it). */
export interface ToldAlarm {
  readonly kind: 'alarm-failed' | 'alarm-unhealthy';
  readonly hostname: string;
  readonly repairAction: string;
  /** Identifies the fault episode: the server's event id (or its audit's conditionEventId). */
  readonly episode: string;
  readonly pending: boolean;
  /**
   * Episodes of this kind told before this one, newest first (at most EPISODES_REMEMBERED − 1): an audit
   * reply that still carries an older episode after a newer one was told does not tell it again.
   */
  readonly earlier?: readonly string[] | undefined;
}

/** How many fault episodes per instance and alarm kind the agent remembers having told. */
export const EPISODES_REMEMBERED = 16;

/** The VIM was already told this episode of this alarm kind. */
export function episodeTold(alarm: ToldAlarm | undefined, episode: string): boolean {
  return alarm !== undefined && (alarm.episode === episode || (alarm.earlier?.includes(episode) ?? false));
}

/** What the VIM was last told about an instance (issue 12 item 5): the level-triggered audit compares with it. */
export interface Told {
  readonly service?: { readonly hostname: string; readonly state: VimServiceState; readonly status: VimServiceState; readonly restartTimeout: string } | undefined;
  readonly failed?: ToldAlarm | undefined;
  readonly unhealthy?: ToldAlarm | undefined;
}

/** A vote/notify forwarded to a server whose result has not come back (issue 12 item 7). */
export interface PendingVote {
  readonly uuid: string;
  readonly hostname: string;
  readonly command: 'vote' | 'notify';
  readonly action: string;
  /** Agent wall-clock ms after which the VIM is sent `timeout` on the guest's behalf. */
  readonly deadlineMs: number;
}

/** A deleted instance (I3 or pruned by audit B): late server events must not re-create it (issue 12 item 6). */
export interface Tombstone {
  readonly uuid: string;
  readonly hostname: string;
  readonly atMs: number;
}

export interface InventoryLimits {
  readonly maxHosts: number;
  readonly maxInstances: number;
  /** Tombstones kept at most (the oldest goes first) … */
  readonly maxTombstones?: number;
  /** … and for at most this long. */
  readonly tombstoneTtlMs?: number;
  /** How long after a vote's own timeout the agent answers `timeout` for the guest (default 10 s). */
  readonly voteGraceMs?: number;
}

export const DEFAULT_INVENTORY_LIMITS: InventoryLimits = { maxHosts: 10_000, maxInstances: 200_000, maxTombstones: 20_000, tombstoneTtlMs: 60 * 60_000 };

export interface AgentState {
  readonly limits: InventoryLimits;
  readonly hosts: PMap<Host>;
  readonly servers: PMap<ServerRecord>;
  readonly instances: PMap<Instance>;
  readonly told: PMap<Told>;
  readonly votes: PMap<PendingVote>;
  readonly tombstones: PMap<Tombstone>;
}

export function emptyAgentState(limits: InventoryLimits = DEFAULT_INVENTORY_LIMITS): AgentState {
  return {
    limits, hosts: PMap.empty(), servers: PMap.empty(), instances: PMap.empty(), told: PMap.empty(), votes: PMap.empty(), tombstones: PMap.empty(),
  };
}

/** A record of the agent's journal (state_dir): what must survive the agent's own crash (issue 12 item 4). */
export type DurableRecord =
  | { readonly type: 'alarm'; readonly uuid: string; readonly alarm: ToldAlarm }
  | { readonly type: 'vote'; readonly vote: PendingVote }
  | { readonly type: 'tombstone'; readonly tombstone: Tombstone }
  /** What the VIM and the servers said of hosts, instances and servers: a restarted agent works at once. */
  | { readonly type: 'host'; readonly host: { readonly uuid: string | null; readonly hostname: string; readonly reporting: boolean; readonly reportingFromVim: boolean } }
  | { readonly type: 'instance'; readonly instance: { readonly uuid: string; readonly hostname: string; readonly reporting: boolean; readonly fromServer: boolean } }
  | { readonly type: 'server'; readonly server: { readonly hostname: string; readonly url: string; readonly bootId: string } };

export type AgentInput =
  /** At start: the journal's records (pending alarms are sent again). */
  | { readonly type: 'restore'; readonly records: readonly DurableRecord[] }
  /** One POST /v1/events batch, already deduplicated by event id (repeats removed). */
  | { readonly type: 'server-events'; readonly events: EventBatch['events'] | readonly PeerEvent[] }
  | { readonly type: 'vim-request'; readonly request: VimRequest }
  /** The vote/notify of an I5/I6 reached the instance's server (or not). */
  | { readonly type: 'action-forwarded'; readonly uuid: string; readonly hostname: string; readonly command: 'vote' | 'notify'; readonly action: string; readonly timeoutSecs: number; readonly ok: boolean }
  | { readonly type: 'vim-audit-start'; readonly refreshMs: number }
  | { readonly type: 'vim-host-state'; readonly hostname: string; readonly uuid: string; readonly state: VimServiceState | undefined }
  /** The VIM's instance list of a host; `queriedAtMs`: when it was asked (a delete after that wins). */
  | { readonly type: 'vim-host-instances'; readonly hostname: string; readonly uuid: string; readonly reply: VimHostInstancesReply | undefined; readonly queriedAtMs?: number }
  /** A server's GET /v1/instances reply; `queriedAtMs` is when the query was sent (older events win). */
  | { readonly type: 'server-audit-reply'; readonly hostname: string; readonly reply: InstanceQueryReply; readonly queriedAtMs: number }
  /** The VIM listener took an event (delivered, no-reply or rejected: it will never be sent again). */
  | { readonly type: 'vim-delivered'; readonly event: VimEvent }
  /** The VIM outbox dropped an event it will never send (a service event evicted at its bound or refused). */
  | { readonly type: 'vim-dropped'; readonly event: VimEvent }
  /** Periodic: vote deadlines and tombstone expiry. */
  | { readonly type: 'tick' };

export type AgentEffect =
  | { readonly type: 'server-command'; readonly command: ServerCommand }
  | { readonly type: 'vim-event'; readonly event: VimEvent }
  /** Write (value) or remove (undefined) a journal record before acknowledging what caused it. */
  | { readonly type: 'persist'; readonly key: string; readonly record: DurableRecord | undefined }
  | { readonly type: 'vim-reply'; readonly outcome: VimOutcome }
  /** I5/I6 of a heartbeating instance: forward to its server, then reply with `forwarded` or `notForwarded`. */
  | {
    readonly type: 'forward-action'; readonly uuid: string; readonly hostname: string; readonly command: 'vote' | 'notify';
    readonly action: EventType; readonly timeoutSecs: number; readonly forwarded: VimOutcome; readonly notForwarded: VimOutcome;
  }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly type: 'metric'; readonly name: 'auditRuns' | 'serverEvents'; readonly labels: Readonly<Record<string, string>> };

export type AgentStep = readonly [AgentState, readonly AgentEffect[]];

/** The read side of the inventory (the operator API and tests read the agent's state through it). */
export interface InventoryReader {
  readonly hostCount: number;
  readonly instanceCount: number;
  hosts(): IterableIterator<Host>;
  instances(): IterableIterator<Instance>;
  hostByName(hostname: string): Host | undefined;
  hostByUuidOrName(key: string): Host | undefined;
  instance(uuid: string): Instance | undefined;
  instancesOn(hostname: string): Instance[];
  server(hostname: string): ServerRecord | undefined;
  /** What the VIM was last told of an instance (service state, alarms), or undefined. */
  told(uuid: string): Told | undefined;
  tombstone(uuid: string): Tombstone | undefined;
  vote(uuid: string): PendingVote | undefined;
}

