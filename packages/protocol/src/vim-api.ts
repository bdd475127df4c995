/**
 * The NFV-VIM ⇄ guest-agent REST bodies (vim §1–2, daemons §4–5).
 *
 * Command channel (VIM → agent, 127.0.0.1:2410): request body schemas and the exact reply texts.
 * Event channel (agent → VIM, 127.0.0.1:30002): the exact request texts and the VIM's reply schemas.
 *
 * Texts are built by hand, not with JSON.stringify of an object, so that key order and the original's
 * spacing are byte-for-byte those the original sent (daemons §4.1, §5.3); every value is JSON-escaped.
 */
import { z } from 'zod';

/** Prefixes the agent searches for in a command URI; the uuid is the next 36 characters (vim §1.2). */
export const VimCommandPrefix = { HOSTS: '/v1/hosts/', INSTANCES: '/v1/instances/' } as const;

/** Paths of the VIM's event listener (vim §2.1, §2.2). */
export const VimEventPath = {
  host: (hostUuid: string): string => `/nfvi-plugins/v1/hosts/${hostUuid}`,
  hostInstances: (hostUuid: string): string => `/nfvi-plugins/v1/instances/?host_uuid=${hostUuid}`,
  instance: (uuid: string): string => `/nfvi-plugins/v1/instances/${uuid}`,
} as const;

/** The only guest service (vim §0). */
export const VIM_SERVICE_NAME = 'heartbeat';
/** User-Agent the agent sends to the VIM (vim §2.1). */
export const AGENT_USER_AGENT = 'guest-agent/1.0';

export const VimServiceStateSchema = z.enum(['enabled', 'disabled']);
export type VimServiceState = z.infer<typeof VimServiceStateSchema>;

// ---------------------------------------------------------------------------------------------------
// Command channel: request bodies. Tolerant readers (z.object strips extra keys such as the old `channel`).
// The route checks them in stages so each failure keeps the original's reason (daemons §4.2).

/** H1/H2/H3/H5 body: `{"uuid","hostname"}`. */
export const VimHostBodySchema = z.object({ uuid: z.string().optional(), hostname: z.string().min(1).max(255) });
export type VimHostBody = z.infer<typeof VimHostBodySchema>;

/** I1/I2 body header: `uuid`, `hostname` and a `services` list (its elements are checked per call). */
export const VimInstanceBodySchema = z.object({
  uuid: z.string(),
  hostname: z.string().min(1).max(255),
  services: z.array(z.unknown()),
});
export type VimInstanceBody = z.infer<typeof VimInstanceBodySchema>;

/** I2 `services[0]`: `{"service":"heartbeat","state":"enabled"|"disabled"}`. */
export const VimServiceSettingSchema = z.object({ service: z.string(), state: z.string() });

/** I5/I6 body: `{"uuid","hostname","action"}`; action is any event name (unknown ones get timeout "0"). */
export const VimActionBodySchema = z.object({ uuid: z.string(), hostname: z.string().min(1).max(255), action: z.string().min(1).max(64) });
export type VimActionBody = z.infer<typeof VimActionBodySchema>;

// ---------------------------------------------------------------------------------------------------
// Command channel: reply texts (daemons §4.1, §4.2). The agent appends "\n" as the original did.

const j = (value: string): string => JSON.stringify(value);

/** `{ "status" : "pass" }`, with the leading space the original put on POST host, PUT host and POST instance. */
export function vimPassText(leadingSpace: boolean): string {
  return `${leadingSpace ? ' ' : ''}{ "status" : "pass" }`;
}

/** H5 reply: `{"uuid":..,"hostname":..,"state":"enabled"|"disabled"}` (host-level reporting). */
export function vimHostStateText(uuid: string, hostname: string, state: VimServiceState): string {
  return `{"uuid":${j(uuid)},"hostname":${j(hostname)},"state":${j(state)}}`;
}

/** I2/I4 reply, the service document; `restartTimeout` is "0" while not heartbeating (vim §1.2). */
export function vimServicesText(uuid: string, hostname: string, state: VimServiceState, status: VimServiceState, restartTimeout: string): string {
  return `{"uuid":${j(uuid)},"hostname":${j(hostname)},"services": [{ "service":"heartbeat","state":${j(state)},"restart-timeout":${j(restartTimeout)},"status":${j(status)}}]}`;
}

/** I5/I6 reply: `{"uuid","hostname","action","timeout"}`, timeout in decimal seconds as text. */
export function vimActionReplyText(uuid: string, hostname: string, action: string, timeout: string): string {
  return `{"uuid":${j(uuid)},"hostname":${j(hostname)},"action":${j(action)},"timeout":${j(timeout)}}`;
}

/** Error reasons of the original (daemons §4.1); the agent's error body carries one of these. */
export const VIM_ERROR_REASONS = [
  'command parse error', 'no buffer', 'entity not found', 'invalid data', 'bad state', 'unsupported http command',
] as const;
export type VimErrorReason = (typeof VIM_ERROR_REASONS)[number];

/** The original's error JSON, `{ "status" : "fail","reason" : "<r>"}` (daemons §4.1). */
export function vimErrorText(reason: VimErrorReason): string {
  return `{ "status" : "fail","reason" : ${j(reason)}}`;
}

// ---------------------------------------------------------------------------------------------------
// Event channel: request texts (daemons §5.3, vim §2.2).

/** A: GET /nfvi-plugins/v1/hosts/{uuid} body (note the space after the first colon). */
export function vimHostQueryText(hostname: string, hostUuid: string): string {
  return `{"hostname": ${j(hostname)},"uuid":${j(hostUuid)}}`;
}

/** E: alarm PATCH, state `failed` (heartbeat loss) or `unhealthy` (ill health). */
export function vimAlarmText(uuid: string, hostname: string, state: 'failed' | 'unhealthy', repairAction: string): string {
  return `{"uuid":${j(uuid)},"hostname":${j(hostname)},"event-type":"alarm","event-data":{"services":[{"service":"heartbeat","state":${j(state)},"repair-action":${j(repairAction)}}]}}`;
}

/** D: service state change PATCH; restart-timeout is "0" when not heartbeating. */
export function vimServiceEventText(uuid: string, hostname: string, state: VimServiceState, status: VimServiceState, restartTimeout: string): string {
  return `{"uuid":${j(uuid)},"hostname":${j(hostname)},"event-type":"service","event-data":{"services":[{"service":"heartbeat","state":${j(state)},"status":${j(status)},"restart-timeout":${j(restartTimeout)}}]}}`;
}

/** Guest responses the VIM understands (vim §2.2 F); "" is what the original sent for timeout/error. */
export const VIM_GUEST_RESPONSES = ['allow', 'reject', 'proceed', ''] as const;
export type VimGuestResponse = (typeof VIM_GUEST_RESPONSES)[number];

/**
 * The original's reason escaping (daemons §5.3f): JSON escapes plus `/` → `\/`. Other control characters
 * become \u00XX (the original passed them raw, which made the JSON invalid).
 */
export function escapeVimReason(reason: string): string {
  return JSON.stringify(reason).slice(1, -1).replace(/\//g, '\\/');
}

/** F: vote/notify outcome PATCH (no hostname key; spaces as the original wrote them). */
export function vimActionEventText(uuid: string, action: string, response: VimGuestResponse, reason: string): string {
  return `{"uuid":${j(uuid)},"event-type": "action","event-data": {"action": ${j(action)}, "guest-response": ${j(response)}, "reason": "${escapeVimReason(reason)}"}}`;
}

// ---------------------------------------------------------------------------------------------------
// Event channel: the VIM's replies.

/** Reply to A: the VIM's operational state of the host. A missing/odd state reads as disabled (daemons §5.3a). */
export const VimHostStateReplySchema = z.object({
  uuid: z.string().optional(),
  hostname: z.string().optional(),
  state: z.string().optional(),
});
export type VimHostStateReply = z.infer<typeof VimHostStateReplySchema>;

/** One element of the reply to B. */
export const VimHostInstanceSchema = z.object({
  uuid: z.string(),
  hostname: z.string().optional(),
  services: z.array(z.object({ service: z.literal(VIM_SERVICE_NAME), state: VimServiceStateSchema })).min(1),
});
/** Reply to B: `{"instances":[…]}`; a missing `instances` key is an error, an empty list a success. */
export const VimHostInstancesReplySchema = z.object({ instances: z.array(VimHostInstanceSchema) });
export type VimHostInstancesReply = z.infer<typeof VimHostInstancesReplySchema>;
