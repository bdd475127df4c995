/**
 * Hand-written readers for the two messages of every heartbeat (challenge, challenge_response). They
 * accept exactly what the zod schemas accept and return exactly what they return (same values, same key
 * order); anything else gives `undefined` and the caller falls back to zod, which names the bad key.
 * Why: a zod parse allocates ~2.5 KB per message, and at thousands of guests that garbage sets how often
 * the young generation is scavenged, i.e. the heartbeat jitter (bench/README.md). test/hot-path-parser.test.ts
 * checks the equivalence against the schemas with fast-check.
 */
import { INT32_MAX, INT32_MIN, MAX_LOG_CHARS, MAX_VALUE_CHARS } from './constants.js';
import { CORRECTIVE_ACTIONS, type CorrectiveAction } from './enums.js';
import type { ChallengeMessage, ChallengeResponseMessage } from './wire-messages.js';

/** Int32Schema: an integral number, clamped to int32 [WIRE-5]. */
function int32(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  return value > INT32_MAX ? INT32_MAX : value < INT32_MIN ? INT32_MIN : value;
}

/** TokenSchema: a string of at most 32 characters [WIRE-6]. */
function token(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_VALUE_CHARS ? value : undefined;
}

/** A challenge_response, or `undefined` when zod must decide (and explain). `obj.msg_type` is already checked. */
export function readChallengeResponse(obj: Readonly<Record<string, unknown>>): ChallengeResponseMessage | undefined {
  const version = int32(obj['version']);
  const revision = int32(obj['revision']);
  const sequence = int32(obj['sequence']);
  const response = int32(obj['heartbeat_response']);
  const health = token(obj['heartbeat_health']);
  const action = token(obj['corrective_action']);
  const logMsg = obj['log_msg'];
  if (version === undefined || revision === undefined || sequence === undefined || response === undefined
    || health === undefined || action === undefined || typeof logMsg !== 'string' || obj['msg_type'] !== 'challenge_response') {
    return undefined;
  }
  return {
    version,
    revision,
    msg_type: 'challenge_response',
    sequence,
    heartbeat_response: response,
    heartbeat_health: health === 'healthy' ? 'healthy' : 'unhealthy',
    corrective_action: (CORRECTIVE_ACTIONS as readonly string[]).includes(action) ? (action as CorrectiveAction) : 'unknown',
    log_msg: logMsg.length > MAX_LOG_CHARS ? logMsg.slice(0, MAX_LOG_CHARS) : logMsg,
  };
}

/** A challenge, or `undefined` when zod must decide (and explain). */
export function readChallenge(obj: Readonly<Record<string, unknown>>): ChallengeMessage | undefined {
  const version = int32(obj['version']);
  const revision = int32(obj['revision']);
  const sequence = int32(obj['sequence']);
  const challenge = int32(obj['heartbeat_challenge']);
  if (version === undefined || revision === undefined || sequence === undefined || challenge === undefined || obj['msg_type'] !== 'challenge') {
    return undefined;
  }
  return { version, revision, msg_type: 'challenge', sequence, heartbeat_challenge: challenge };
}
