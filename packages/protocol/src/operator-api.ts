/**
 * The operator API of guest-agent (issue 15): a read-mostly fleet view for people and tools (guestctl, the
 * /ui status page). Separate from the VIM's routes; served on the agent's rx_port listener and protected
 * by the peer bearer token when one is configured.
 *
 *   GET /v1/operator/hosts                       → 200 OperatorHostList
 *   GET /v1/operator/instances[?host=H&state=S]  → 200 OperatorInstanceList
 *   GET /v1/operator/instances/:key              → 200 OperatorInstance (key: uuid or name), 404 unknown
 *   GET /v1/operator/events                      → 200 text/event-stream of OperatorStreamMessage
 *   GET /ui                                      → the status page (static files, no token needed to load)
 */
import { z } from 'zod';
import { CorroborationSchema } from './corroboration.js';
import { CORRECTIVE_ACTIONS } from './enums.js';

/** Paths of the operator API, in one place. */
export const OperatorPath = {
  HOSTS: '/v1/operator/hosts',
  INSTANCES: '/v1/operator/instances',
  instance: (key: string): string => `/v1/operator/instances/${encodeURIComponent(key)}`,
  EVENTS: '/v1/operator/events',
  UI: '/ui',
} as const;

/**
 * What an operator sees of one instance:
 * - `healthy`: heartbeating, last report healthy;
 * - `unhealthy`: heartbeating, but the guest reported ill health;
 * - `failed`: heartbeat lost (the guest stopped answering) and not heartbeating since;
 * - `waiting-init`: monitored, but the guest has not (re)started heartbeating;
 * - `disconnected`: the guest's channel closed, or its host's guest-server is unknown or unreachable;
 * - `not-monitored`: heartbeat reporting is disabled for the instance or its host.
 */
export const INSTANCE_STATES = ['healthy', 'unhealthy', 'failed', 'waiting-init', 'disconnected', 'not-monitored'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];
export const InstanceStateSchema = z.enum(INSTANCE_STATES);

/** The last guest-server event about an instance. */
export const OperatorLastEventSchema = z.object({
  /** running, stopped, ill-health, loss or vote-result. */
  kind: z.string(),
  /** A short human text: the stop reason, the guest's log message, the vote … */
  detail: z.string(),
  /** Wall-clock milliseconds when the server observed it. */
  atMs: z.number().int().nonnegative(),
});
export type OperatorLastEvent = z.infer<typeof OperatorLastEventSchema>;

/**
 * Why the guest went silent, as its host saw it (issue 16): the corroboration of the instance's last loss or
 * ill-health report (class, evidence, forensics ring, last log_msg), with the report's kind and time.
 */
export const OperatorCorroborationSchema = CorroborationSchema.extend({
  report: z.enum(['loss', 'ill-health']),
  /** Wall-clock milliseconds when the server observed the report. */
  atMs: z.number().int().nonnegative(),
});
export type OperatorCorroboration = z.infer<typeof OperatorCorroborationSchema>;

export const OperatorInstanceSchema = z.object({
  uuid: z.string(),
  hostname: z.string(),
  /** The guest's name; null while the agent does not know it (guest-server does not report it yet). */
  name: z.string().nullable(),
  reporting: z.boolean(),
  heartbeating: z.boolean(),
  state: InstanceStateSchema,
  correctiveAction: z.enum(CORRECTIVE_ACTIONS),
  /** Heartbeat interval, last challenge round-trip and misses: null when guest-server does not report them. */
  intervalMs: z.number().nullable(),
  lastRttMs: z.number().nullable(),
  misses: z.number().int().nullable(),
  lastEvent: OperatorLastEventSchema.nullable(),
  /** The last loss or ill-health report's host-side corroboration; absent when none was received. */
  corroboration: OperatorCorroborationSchema.optional(),
});
export type OperatorInstance = z.infer<typeof OperatorInstanceSchema>;

export const OperatorServerSchema = z.object({
  url: z.string(),
  bootId: z.string(),
  /** The agent heard from it (event or audit query) within the reachability window. */
  reachable: z.boolean(),
  /** Milliseconds since the agent last heard from it. */
  lastContactAgoMs: z.number().int().nonnegative(),
  /** Events waiting in the server's outbox toward the agent; null when the server does not report it. */
  outboxDepth: z.number().int().nonnegative().nullable(),
});
export type OperatorServer = z.infer<typeof OperatorServerSchema>;

export const StateCountsSchema = z.record(InstanceStateSchema, z.number().int().nonnegative());
export type StateCounts = Record<InstanceState, number>;

export const OperatorHostSchema = z.object({
  hostname: z.string(),
  uuid: z.string().nullable(),
  reporting: z.boolean(),
  /** The host's guest-server as registered with the agent; null before its first server-ready. */
  server: OperatorServerSchema.nullable(),
  instances: z.number().int().nonnegative(),
  states: StateCountsSchema,
});
export type OperatorHost = z.infer<typeof OperatorHostSchema>;

export const OperatorHostListSchema = z.object({
  hosts: z.array(OperatorHostSchema),
  /** Events waiting in the agent's outbox toward the VIM. */
  vimOutboxDepth: z.number().int().nonnegative(),
});
export type OperatorHostList = z.infer<typeof OperatorHostListSchema>;

export const OperatorInstanceListSchema = z.object({
  instances: z.array(OperatorInstanceSchema),
  /** Instances matching the filter before any limit. */
  total: z.number().int().nonnegative(),
});
export type OperatorInstanceList = z.infer<typeof OperatorInstanceListSchema>;

/**
 * One Server-Sent Event of GET /v1/operator/events; the SSE `event:` field is the `type`, `data:` the JSON.
 * `instance` carries the new view of a changed instance, `instance-removed` a deleted one, `host` a changed
 * host, `server-event` every event a guest-server delivered (for `guestctl events --follow`).
 */
export const OperatorStreamMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('instance'), instance: OperatorInstanceSchema }),
  z.object({ type: z.literal('instance-removed'), uuid: z.string(), hostname: z.string() }),
  z.object({ type: z.literal('host'), host: OperatorHostSchema }),
  z.object({ type: z.literal('server-event'), hostname: z.string(), uuid: z.string().nullable(), event: OperatorLastEventSchema }),
]);
export type OperatorStreamMessage = z.infer<typeof OperatorStreamMessageSchema>;

/** Error body of the operator API (same shape as the peer API's). */
export const OperatorErrorBodySchema = z.object({ code: z.string(), message: z.string() });
