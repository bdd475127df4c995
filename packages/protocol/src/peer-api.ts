/**
 * The guest-server ↔ guest-agent HTTP/JSON API (DESIGN.md §3), replacing the original's UDP 1060-byte
 * envelope (daemons §3). Both directions carry `Authorization: Bearer <token>` when a token is configured.
 *
 * guest-agent, on [agent] rx_port (2401):
 *   POST /v1/events            EventBatch → EventAck          events from a server, idempotent on id
 *
 * guest-server, on [client] rx_port (2411):
 *   PUT    /v1/instances/:uuid       InstanceStateCommand → 200 InstanceInfo   (ADD_INST / MOD_INST)
 *   DELETE /v1/instances/:uuid       → 204, 404 unknown                         (DEL_INST)
 *   GET    /v1/instances             → 200 InstanceQueryReply                   (QRY_INST)
 *   PUT    /v1/host                  HostReportingCommand → 200 HostReportingCommand (MOD_HOST)
 *   POST   /v1/instances/:uuid/vote   ActionCommand → 202 ActionAccepted, 404 unknown (VOTE_INST)
 *   POST   /v1/instances/:uuid/notify ActionCommand → 202 ActionAccepted, 404 unknown (NOTIFY_INST)
 *   POST   /v1/announce              → 202: the server queues a new `server-ready` event (registration on request)
 *
 * Errors on both sides: a non-2xx status with PeerErrorBody.
 */
import { z } from 'zod';
import { UUID_CHARS } from './constants.js';
import { CorroborationSchema } from './corroboration.js';
import { CORRECTIVE_ACTIONS, EVENT_TYPES, NOTIFICATION_TYPES, VOTE_RESULTS } from './enums.js';

/** Paths of the peer API, in one place. */
export const PeerPath = {
  EVENTS: '/v1/events',
  INSTANCES: '/v1/instances',
  instance: (uuid: string): string => `/v1/instances/${encodeURIComponent(uuid)}`,
  vote: (uuid: string): string => `/v1/instances/${encodeURIComponent(uuid)}/vote`,
  notify: (uuid: string): string => `/v1/instances/${encodeURIComponent(uuid)}/notify`,
  HOST: '/v1/host',
  ANNOUNCE: '/v1/announce',
} as const;

/** Most events in one POST /v1/events. */
export const MAX_EVENTS_PER_BATCH = 100;

/** An instance uuid: 36 characters without '/' or '.' (the original checks only the length: daemons §1.1). */
export const InstanceUuidSchema = z.string().length(UUID_CHARS).regex(/^[^/.\s]+$/, 'no "/", "." or blanks');
export const HostnameSchema = z.string().min(1).max(255);
export const ReportingStateSchema = z.enum(['enabled', 'disabled']);
export type ReportingState = z.infer<typeof ReportingStateSchema>;
/** Decimal seconds as text, as the original reports them (daemons §3.6). */
const SecondsTextSchema = z.string().regex(/^-?\d{1,10}$/);

/**
 * A server's view of one guest (issue 12): `failed` = a loss was detected and the guest has not initialised
 * since; `unhealthy` / `healthy` = heartbeating with or without a reportable ill-health; `waiting-init` =
 * heartbeating expected but not confirmed: the guest was heartbeating before a server restart or a channel
 * reconnect and the init deadline runs (a loss follows when it passes), or it sent init and its first answer
 * is pending; `disconnected` = no channel connection; `not-monitored` = connected but the guest has not
 * initialised a heartbeat (no client in the guest, or it stopped with `exit`).
 */
export const INSTANCE_CONDITIONS = ['healthy', 'unhealthy', 'failed', 'waiting-init', 'disconnected', 'not-monitored'] as const;
export type InstanceCondition = (typeof INSTANCE_CONDITIONS)[number];

/**
 * Instance information, with the keys of the original's instance-info JSON (daemons §3.6).
 * `repair-action` is the unhealthy corrective action inside an ill-health event, else the init one.
 */
export const InstanceInfoSchema = z.object({
  hostname: HostnameSchema,
  uuid: InstanceUuidSchema,
  reporting: ReportingStateSchema,
  heartbeating: ReportingStateSchema,
  'repair-action': z.enum(CORRECTIVE_ACTIONS),
  'restart-to': SecondsTextSchema,
  'shutdown-to': SecondsTextSchema,
  'suspend-to': SecondsTextSchema,
  'resume-to': SecondsTextSchema,
  'vote-to': SecondsTextSchema,
  // Optional (issue 12), in GET /v1/instances replies for the agent's level-triggered audit; absent from the
  // original's records and from servers before issue 12.
  /** What the server knows of the guest now (README of guest-server, "Instance condition"). */
  condition: z.enum(INSTANCE_CONDITIONS).optional(),
  /** Corrective action of the last loss (condition failed) or ill-health (condition unhealthy). */
  lossAction: z.enum(CORRECTIVE_ACTIONS).optional(),
  /** Wall-clock ms since when the condition holds (the server's clock). */
  conditionSinceMs: z.number().int().nonnegative().optional(),
  /** Id of the event that reported the current condition (the agent dedupes on it). */
  conditionEventId: z.string().min(1).max(128).optional(),
  // Optional (issue 15), for the operator's view (guestctl, /ui); absent from the original's records.
  /** The guest's name from its init message. */
  name: z.string().max(256).optional(),
  /** The heartbeat interval in use (the guest's heartbeat_interval_ms, floored at the pulse period). */
  intervalMs: z.number().int().nonnegative().optional(),
  /** Consecutive heartbeat windows without a valid answer, now. */
  misses: z.number().int().nonnegative().optional(),
  /** The last challenge's round-trip time (challenge sent → valid response), ms. */
  lastRttMs: z.number().nonnegative().optional(),
});
export type InstanceInfo = z.infer<typeof InstanceInfoSchema>;

/** Why heartbeating stopped: the original sent STOPPED for some of these and silently dropped others (daemons §9 item 6). */
export const StopReasonSchema = z.enum([
  'loss', 'exit', 'disconnect', 'reporting-disabled', 'suspend', 'channel-removed', 'deleted', 'reinit', 'shutdown',
]);
export type StopReason = z.infer<typeof StopReasonSchema>;

const EventHeader = {
  /** Unique per event; the agent acknowledges it and ignores repeats. */
  id: z.string().min(1).max(128),
  /** The sending server's hostname. */
  hostname: HostnameSchema,
  /** Wall-clock milliseconds when the server observed it (for logs and latency figures only). */
  atMs: z.number().int().nonnegative(),
};

export const ServerReadyEventSchema = z.object({
  ...EventHeader,
  kind: z.literal('server-ready'),
  /** Where the agent reaches this server's command API. */
  url: z.url(),
  /** Changes at each server start: the agent pushes its state when it sees a new one. */
  bootId: z.string().min(1).max(64),
});
export const RunningEventSchema = z.object({ ...EventHeader, kind: z.literal('running'), instance: InstanceInfoSchema });
export const StoppedEventSchema = z.object({
  ...EventHeader,
  kind: z.literal('stopped'),
  instance: InstanceInfoSchema,
  reason: StopReasonSchema,
});
export const IllHealthEventSchema = z.object({
  ...EventHeader,
  kind: z.literal('ill-health'),
  instance: InstanceInfoSchema,
  /** The guest's log_msg with the unhealthy response. */
  logMsg: z.string().max(256),
  /** Why, as the host saw it (issue 16; absent with [client] corroborate = off and from older servers). */
  corroboration: CorroborationSchema.optional(),
});
export const LossEventSchema = z.object({
  ...EventHeader,
  kind: z.literal('loss'),
  uuid: InstanceUuidSchema,
  /** The loss corrective action from the guest's init. */
  correctiveAction: z.enum(CORRECTIVE_ACTIONS),
  /** Why, as the host saw it (issue 16; absent with [client] corroborate = off and from older servers). */
  corroboration: CorroborationSchema.optional(),
});
export const VoteResultEventSchema = z.object({
  ...EventHeader,
  kind: z.literal('vote-result'),
  uuid: InstanceUuidSchema,
  notificationType: z.enum(NOTIFICATION_TYPES),
  eventType: z.enum(EVENT_TYPES),
  vote: z.enum(VOTE_RESULTS),
  reason: z.string().max(256),
});

export const PeerEventSchema = z.discriminatedUnion('kind', [
  ServerReadyEventSchema, RunningEventSchema, StoppedEventSchema, IllHealthEventSchema, LossEventSchema, VoteResultEventSchema,
]);
export type ServerReadyEvent = z.infer<typeof ServerReadyEventSchema>;
export type RunningEvent = z.infer<typeof RunningEventSchema>;
export type StoppedEvent = z.infer<typeof StoppedEventSchema>;
export type IllHealthEvent = z.infer<typeof IllHealthEventSchema>;
export type LossEvent = z.infer<typeof LossEventSchema>;
export type VoteResultEvent = z.infer<typeof VoteResultEventSchema>;
export type PeerEvent = z.infer<typeof PeerEventSchema>;
export type PeerEventKind = PeerEvent['kind'];

/** POST /v1/events body: events in the order they happened; the agent processes them in this order. */
export const EventBatchSchema = z.object({ events: z.array(PeerEventSchema).min(1).max(MAX_EVENTS_PER_BATCH) });
export type EventBatch = z.infer<typeof EventBatchSchema>;

/**
 * Reply to POST /v1/events: the ids taken (new or repeated). A sender drops exactly these from its outbox.
 * `reannounce` (optional, added by guest-agent): true when the agent has no server-ready on record for the
 * sending hostname (e.g. after an agent restart or controller swact); the server should queue a new
 * `server-ready` event, exactly as on POST /v1/announce.
 */
export const EventAckSchema = z.object({ acked: z.array(z.string()), reannounce: z.boolean().optional() });
export type EventAck = z.infer<typeof EventAckSchema>;

/** PUT /v1/instances/:uuid: add or modify an instance's reporting (ADD_INST / MOD_INST, daemons §3.5). */
export const InstanceStateCommandSchema = z.object({ reporting: ReportingStateSchema });
export type InstanceStateCommand = z.infer<typeof InstanceStateCommandSchema>;

/** PUT /v1/host: host-level reporting, which gates loss reports (MOD_HOST, daemons §3.5). */
export const HostReportingCommandSchema = z.object({ reporting: ReportingStateSchema });
export type HostReportingCommand = z.infer<typeof HostReportingCommandSchema>;

/** POST /v1/instances/:uuid/vote|notify body (VOTE_INST / NOTIFY_INST). */
export const ActionCommandSchema = z.object({ event: z.enum(EVENT_TYPES) });
export type ActionCommand = z.infer<typeof ActionCommandSchema>;

/** Reply to vote/notify: what was sent to the guest; the result arrives later as a vote-result event. */
export const ActionAcceptedSchema = z.object({
  uuid: InstanceUuidSchema,
  event: z.enum(EVENT_TYPES),
  notificationType: z.enum(['revocable', 'irrevocable']),
  timeoutMs: z.number().int().nonnegative(),
});
export type ActionAccepted = z.infer<typeof ActionAcceptedSchema>;

/** GET /v1/instances reply (QRY_INST): the server's identity, host reporting and every instance. */
export const InstanceQueryReplySchema = z.object({
  hostname: HostnameSchema,
  url: z.url(),
  bootId: z.string().min(1).max(64),
  hostReporting: ReportingStateSchema,
  instances: z.array(InstanceInfoSchema),
  /** Events waiting in the server's outbox toward the agent (optional, issue 15: the operator's view). */
  outboxDepth: z.number().int().nonnegative().optional(),
});
export type InstanceQueryReply = z.infer<typeof InstanceQueryReplySchema>;

/** Error body of both peer APIs. `code` is a stable error code of the answering package. */
export const PeerErrorBodySchema = z.object({ code: z.string(), message: z.string() });
export type PeerErrorBody = z.infer<typeof PeerErrorBodySchema>;
