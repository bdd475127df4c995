/**
 * Turns one framed line into a typed message or a reasoned error, following the original's validation
 * pipeline and nack texts (daemons §1.5). Pure; never throws.
 */
import { INT32_MIN, PROTOCOL_VERSION } from './constants.js';
import type { MessageType } from './enums.js';
import type { ProtocolErrorCode } from './errors.js';
import { readChallenge, readChallengeResponse } from './hot-path-parser.js';
import { nackBadVersion, nackFailedToParse, nackUnsupportedType } from './nack.js';
import { HEADER_KEYS, KEY_ORDER, SCHEMA_BY_TYPE, type WireMessage } from './wire-messages.js';

/** Why a line was refused. `nack` is the text a host answers with, or undefined when it stays silent. */
export interface ParseFailure {
  readonly ok: false;
  readonly code: ProtocolErrorCode;
  readonly reason: string;
  readonly nack: string | undefined;
}
export type ParseResult = { readonly ok: true; readonly message: WireMessage } | ParseFailure;

function fail(code: ProtocolErrorCode, reason: string, nack: string | undefined): ParseFailure {
  return { ok: false, code, reason, nack };
}

/**
 * Parses a line. `accepted` lists the types this side acts on; others are refused with the
 * "unsupported message type" nack (the host) or ignored (the guest, which sends no nacks).
 */
export function parseMessage(line: string, accepted: readonly MessageType[]): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // [WIRE-4] Garbage is discarded silently up to the next newline, as the original does (daemons §1.4).
    return fail('PROTO_ERR_BAD_JSON', 'not JSON', undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('PROTO_ERR_BAD_FIELD', 'not a JSON object', nackFailedToParse('version'));   // [NACK-1]
  }
  const obj = value as Record<string, unknown>;
  const version = obj['version'];
  // Integers only, as for every other int key: the original also took bools and doubles here (daemons §1.5).
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return fail('PROTO_ERR_BAD_FIELD', 'version missing or not an integer', nackFailedToParse('version'));
  }
  if (version < PROTOCOL_VERSION) {   // [NACK-2]
    // The text shows the value as the original read it: clamped to int32.
    const shown = Math.max(INT32_MIN, version);
    return fail('PROTO_ERR_BAD_VERSION', `version ${shown} < ${PROTOCOL_VERSION}`, nackBadVersion(shown));
  }
  const msgType = obj['msg_type'];
  if (typeof msgType !== 'string') {   // [NACK-3]
    return fail('PROTO_ERR_BAD_FIELD', 'msg_type missing or not a string', nackFailedToParse('msg_type'));
  }
  if (!(accepted as readonly string[]).includes(msgType)) {   // [NACK-4]
    return fail('PROTO_ERR_UNSUPPORTED_TYPE', `unsupported msg_type ${JSON.stringify(msgType.slice(0, 64))}`, nackUnsupportedType(msgType));
  }
  const type = msgType as MessageType;
  // The two messages of every heartbeat take a hand-written reader that agrees with zod (hot-path-parser.ts).
  const hot = type === 'challenge_response' ? readChallengeResponse(obj) : type === 'challenge' ? readChallenge(obj) : undefined;
  if (hot !== undefined) return { ok: true, message: hot };
  const result = SCHEMA_BY_TYPE[type].safeParse(obj);
  if (result.success) return { ok: true, message: result.data };
  const key = firstBadKey(type, result.error.issues.map((issue) => String(issue.path[0] ?? '')));
  return fail('PROTO_ERR_BAD_FIELD', `${key} missing or invalid`, nackFailedToParse(key));
}

/** The first key, in wire order, that zod complained about: the one the original would have nacked. [NACK-5] */
function firstBadKey(type: MessageType, badKeys: readonly string[]): string {
  const order = [...HEADER_KEYS, ...KEY_ORDER[type]];
  return order.find((key) => badKeys.includes(key)) ?? badKeys[0] ?? 'message';
}
