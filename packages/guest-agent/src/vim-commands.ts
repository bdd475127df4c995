/**
 * The VIM command receiver's rules (vim §1, daemons §4): the 11 calls H1–H5 and I1–I6 decided from
 * (method, raw URL, User-Agent, body text) against the reducer's inventory draft. Returns the reply and the
 * server commands to perform, or, for a vote/notify of a heartbeating instance, the forward to perform and
 * the reply for either of its outcomes (the driver forwards, then answers: no I/O here).
 */
import {
  InstanceUuidSchema, VIM_USER_AGENT, VimActionBodySchema, VimCommandPrefix, VimHostBodySchema, VimInstanceBodySchema,
  VimServiceSettingSchema, UUID_CHARS, EVENT_TYPES, toVocabulary, vimActionReplyText, vimHostStateText, vimPassText,
  vimServicesText, type EventType, type VimErrorReason,
} from '@guesthb/protocol';
import { GuestAgentErrorCode } from './errors.js';
import { actionTimeout, onOff, type Instance, type Inventory, type ServerCommand } from './inventory.js';

export type VimRoute = 'H1' | 'H2' | 'H3' | 'H4' | 'H5' | 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'other';

export type VimReply =
  | { readonly ok: true; readonly status: 200 | 204; readonly text: string }
  | { readonly ok: false; readonly status: number; readonly reason: VimErrorReason; readonly code: GuestAgentErrorCode; readonly message: string };

export interface VimOutcome {
  readonly route: VimRoute;
  readonly reply: VimReply;
  readonly commands: readonly ServerCommand[];
}

export interface VimRequest {
  readonly method: string;
  readonly url: string;
  readonly userAgent: string | undefined;
  /** Raw body text; undefined when the request had none. */
  readonly body: string | undefined;
}

/** I5/I6 of a heartbeating instance: forward to its server, then reply with `forwarded` or `notForwarded`. */
export interface VimForward {
  readonly uuid: string;
  readonly hostname: string;
  readonly command: 'vote' | 'notify';
  readonly action: EventType;
  readonly timeoutSecs: number;
  readonly forwarded: VimOutcome;
  readonly notForwarded: VimOutcome;
}

export type VimDecision = { readonly outcome: VimOutcome } | { readonly forward: VimForward };

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);

const fail = (status: number, reason: VimErrorReason, code: GuestAgentErrorCode, message: string): VimReply => ({ ok: false, status, reason, code, message });
const ok = (text: string): VimReply => ({ ok: true, status: 200, text });
const NO_CONTENT: VimReply = { ok: true, status: 204, text: '' };

/** Splits the URI as the original: the 36 characters after the prefix, then the command after one more character. */
export function parseVimUri(url: string): { level: 'host' | 'instance'; uuid: string; command: string } | undefined {
  let level: 'host' | 'instance' = 'host';
  let at = url.indexOf(VimCommandPrefix.HOSTS);
  let prefix: string = VimCommandPrefix.HOSTS;
  if (at < 0) {
    level = 'instance';
    prefix = VimCommandPrefix.INSTANCES;
    at = url.indexOf(prefix);
  }
  if (at < 0) return undefined;
  const rest = url.slice(at + prefix.length);
  return { level, uuid: rest.slice(0, UUID_CHARS), command: rest.length > UUID_CHARS ? rest.slice(UUID_CHARS + 1) : '' };
}

export function decideVimCommand(inventory: Inventory, req: VimRequest, nowMs: number): VimDecision {
  const none = (route: VimRoute, reply: VimReply): VimDecision => ({ outcome: { route, reply, commands: [] } });
  // User-Agent: present and not exactly vim/1.0 → 403 (vim §1.1); absent is accepted.
  if (req.userAgent !== undefined && req.userAgent !== VIM_USER_AGENT) {
    return none('other', fail(403, 'no buffer', GuestAgentErrorCode.FORBIDDEN, 'User-Agent must be vim/1.0'));
  }
  const uri = parseVimUri(req.url);
  if (uri === undefined) return none('other', fail(403, 'no buffer', GuestAgentErrorCode.FORBIDDEN, 'no /v1/hosts/ or /v1/instances/ in the URI'));
  if (!METHODS.has(req.method)) return none('other', fail(501, 'unsupported http command', GuestAgentErrorCode.METHOD_NOT_IMPLEMENTED, `method ${req.method} is not one of GET, POST, PUT, DELETE, PATCH`));
  return uri.level === 'host' ? { outcome: handleHost(inventory, req, uri.uuid, uri.command) } : handleInstance(inventory, req, uri.uuid, uri.command, nowMs);
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reply: VimReply };

function parseJson(body: string | undefined): Parsed<unknown> {
  if (body === undefined || body.trim() === '') return { ok: false, reply: fail(411, 'no buffer', GuestAgentErrorCode.LENGTH_REQUIRED, 'request body required') };
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false, reply: fail(400, 'command parse error', GuestAgentErrorCode.PARSE, 'body is not JSON') };
  }
}

function parseBody<T>(body: string | undefined, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[] }[] } } }): Parsed<T> {
  const json = parseJson(body);
  if (!json.ok) return json;
  const result = schema.safeParse(json.value);
  if (result.success) return { ok: true, value: result.data };
  const key = result.error.issues[0]?.path.map(String).join('.') ?? 'body';
  return { ok: false, reply: fail(400, 'command parse error', GuestAgentErrorCode.PARSE, `missing or invalid key: ${key}`) };
}

function handleHost(inventory: Inventory, req: VimRequest, uuid: string, command: string): VimOutcome {
  switch (req.method) {
    case 'DELETE':
      // H4: always 204 with no lookup and no state change, as the original (vim §1.2, daemons §4.2): the
      // VIM's "delete host services" is not a host removal (that came from mtcAgent), and instances go by I3.
      return { route: 'H4', reply: NO_CONTENT, commands: [] };
    case 'GET': {
      // H5: the VIM sends GET …/disable with a body; the suffix is ignored (vim §3 item 1).
      const host = inventory.hostByUuidOrName(uuid);
      if (host === undefined) {
        // Decision (as H1, no mtcAgent): an unknown host is learned from the URL uuid and the body hostname
        // (a restarted agent hears of its hosts again from the VIM's periodic host audit), or the uuid of a
        // host learned from its server is filled in. The reply stays the original's 404 for an unknown
        // host (which also triggered its inventory request, daemons §3.8): the agent's VIM audit now fetches
        // the host's state and instances, and the VIM's next H5 gets the state.
        const body = VimHostBodySchema.safeParse(safeJson(req.body));
        const learned = body.success ? createHost(inventory, uuid, body.data.hostname, false) : undefined;
        let detail = 'no hostname in the body';
        if (body.success) detail = learned?.ok === false ? learned.message : 'learned from the body';
        return { route: 'H5', reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `host ${uuid} not found (${detail})`), commands: [] };
      }
      return { route: 'H5', reply: ok(vimHostStateText(uuid, host.hostname, onOff(host.reporting))), commands: [] };
    }
    case 'POST': {
      // H1: known → pass. No mtcAgent here: an unknown host is created from the URL uuid and body hostname.
      if (inventory.hostByUuidOrName(uuid) !== undefined) return { route: 'H1', reply: ok(vimPassText(true)), commands: [] };
      const body = VimHostBodySchema.safeParse(safeJson(req.body));
      if (!body.success) return { route: 'H1', reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `host ${uuid} not found and no hostname in the body`), commands: [] };
      return { route: 'H1', reply: createHost(inventory, uuid, body.data.hostname) ?? ok(vimPassText(true)), commands: [] };
    }
    case 'PUT': {
      const route: VimRoute = command === 'enable' ? 'H2' : 'H3';
      const body = parseBody(req.body, VimHostBodySchema);
      if (!body.ok) return { route, reply: body.reply, commands: [] };
      // The original disabled on any PUT other than …/enable (daemons §9 item 22); we refuse unknown commands.
      if (command !== 'enable' && command !== 'disable') {
        return { route: 'other', reply: fail(400, 'unsupported http command', GuestAgentErrorCode.UNSUPPORTED, `unknown host command "${command}"`), commands: [] };
      }
      let host = inventory.hostByName(body.value.hostname);
      // A host learned from its server (agent restart) gets its uuid from the VIM here.
      if (host?.uuid === undefined) {
        const failed = createHost(inventory, uuid, body.value.hostname);
        if (failed !== undefined) return { route, reply: failed, commands: [] };
        host = inventory.hostByName(body.value.hostname);
      }
      if (host === undefined) return { route, reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, 'host not found'), commands: [] };
      return { route, reply: ok(vimPassText(true)), commands: inventory.setHostReporting(host, command === 'enable') };
    }
    default:
      return { route: 'other', reply: fail(400, 'unsupported http command', GuestAgentErrorCode.UNSUPPORTED, `${req.method} not supported on hosts`), commands: [] };
  }
}

function createHost(inventory: Inventory, uuid: string, hostname: string, reportingFromVim = true): VimReply | undefined {
  if (!InstanceUuidSchema.safeParse(uuid).success) return fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `host uuid ${JSON.stringify(uuid)} is not 36 characters`);
  if (inventory.addHost(uuid, hostname, { reportingFromVim }) === 'full') return fail(503, 'no buffer', GuestAgentErrorCode.INVENTORY_FULL, 'host table full');
  return undefined;
}

function safeJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function servicesDoc(inst: Instance): string {
  return vimServicesText(inst.uuid, inst.hostname, onOff(inst.reporting), onOff(inst.heartbeating), inst.heartbeating ? inst.timeouts.restart : '0');
}

function handleInstance(inventory: Inventory, req: VimRequest, uuid: string, command: string, nowMs: number): VimDecision {
  const notFound = (route: VimRoute, id: string): VimOutcome => ({ route, reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `instance ${id} not found`), commands: [] });
  switch (req.method) {
    case 'GET': {
      const inst = inventory.instance(uuid);
      return { outcome: inst === undefined ? notFound('I4', uuid) : { route: 'I4', reply: ok(servicesDoc(inst)), commands: [] } };
    }
    case 'DELETE': {
      // The deleted instance leaves a tombstone (issue 12 item 6).
      const commands = inventory.deleteInstance(uuid, nowMs);
      return { outcome: commands === undefined ? notFound('I3', uuid) : { route: 'I3', reply: NO_CONTENT, commands } };
    }
    case 'POST':
      if (command === 'vote' || command === 'notify') return handleAction(inventory, req, command);
      return { outcome: handleCreate(inventory, req) };
    case 'PATCH':
      return { outcome: handleSet(inventory, req) };
    default: {
      // PUT on an instance: the original answered 200 with an empty body (daemons §4.2); kept.
      const json = parseJson(req.body);
      return { outcome: { route: 'other', reply: json.ok ? ok('') : json.reply, commands: [] } };
    }
  }
}

function handleAction(inventory: Inventory, req: VimRequest, command: 'vote' | 'notify'): VimDecision {
  const route: VimRoute = command === 'vote' ? 'I5' : 'I6';
  const body = parseBody(req.body, VimActionBodySchema);
  if (!body.ok) return { outcome: { route, reply: body.reply, commands: [] } };
  // The instance is looked up by the body uuid (daemons §4.2).
  const inst = inventory.instance(body.value.uuid);
  if (inst === undefined) return { outcome: { route, reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `instance ${body.value.uuid} not found`), commands: [] } };
  const timeout = actionTimeout(inst, command, body.value.action);
  const reply = (t: string): VimOutcome => ({ route, reply: ok(vimActionReplyText(body.value.uuid, body.value.hostname, body.value.action, t)), commands: [] });
  if (!inst.heartbeating) return { outcome: reply(timeout) };
  // Decision: wait (briefly) for the server to take the vote; if it cannot, answer "0" so the VIM does
  // not wait for a guest answer that will never come (vim §1.4).
  const action = toVocabulary(EVENT_TYPES, body.value.action, 'unknown');
  return {
    forward: {
      uuid: inst.uuid, hostname: inst.hostname, command, action, timeoutSecs: Number(timeout) || 0,
      forwarded: reply(timeout), notForwarded: reply('0'),
    },
  };
}

function handleCreate(inventory: Inventory, req: VimRequest): VimOutcome {
  const body = parseBody(req.body, VimInstanceBodySchema);
  if (!body.ok) return { route: 'I1', reply: body.reply, commands: [] };
  const invalid = (message: string): VimOutcome => ({ route: 'I1', reply: fail(400, 'invalid data', GuestAgentErrorCode.INVALID_DATA, message), commands: [] });
  if (!InstanceUuidSchema.safeParse(body.value.uuid).success) return invalid('uuid must be 36 characters');
  if (body.value.services[0] !== 'heartbeat') return invalid('services[0] must be "heartbeat"');
  // A new instance starts with reporting disabled (daemons §4.2, §6.2).
  const added = inventory.addInstance(body.value.hostname, body.value.uuid, undefined);
  if (!added.ok) {
    if (added.reason === 'full') return { route: 'I1', reply: fail(503, 'no buffer', GuestAgentErrorCode.INVENTORY_FULL, 'instance table full'), commands: [] };
    return invalid(`unknown hostname ${body.value.hostname}`);
  }
  return { route: 'I1', reply: ok(vimPassText(true)), commands: added.commands };
}

function handleSet(inventory: Inventory, req: VimRequest): VimOutcome {
  const body = parseBody(req.body, VimInstanceBodySchema);
  if (!body.ok) return { route: 'I2', reply: body.reply, commands: [] };
  const setting = VimServiceSettingSchema.safeParse(body.value.services[0]);
  if (!setting.success || setting.data.service !== 'heartbeat') {
    return { route: 'I2', reply: fail(400, 'invalid data', GuestAgentErrorCode.INVALID_DATA, 'services[0].service must be "heartbeat"'), commands: [] };
  }
  const state = setting.data.state;
  if (state !== 'enabled' && state !== 'disabled') {
    return { route: 'I2', reply: fail(400, 'bad state', GuestAgentErrorCode.BAD_STATE, 'services[0].state must be enabled or disabled'), commands: [] };
  }
  if (!InstanceUuidSchema.safeParse(body.value.uuid).success) {
    return { route: 'I2', reply: fail(400, 'invalid data', GuestAgentErrorCode.INVALID_DATA, 'uuid must be 36 characters'), commands: [] };
  }
  const changed = inventory.modInstance(body.value.hostname, body.value.uuid, state === 'enabled');
  const inst = inventory.instance(body.value.uuid);
  if (!changed.ok || inst === undefined) {
    if (!changed.ok && changed.reason === 'full') return { route: 'I2', reply: fail(503, 'no buffer', GuestAgentErrorCode.INVENTORY_FULL, 'instance table full'), commands: [] };
    return { route: 'I2', reply: fail(404, 'entity not found', GuestAgentErrorCode.NOT_FOUND, `host ${body.value.hostname} not found`), commands: [] };
  }
  return { route: 'I2', reply: ok(servicesDoc(inst)), commands: changed.commands };
}
