/**
 * The challenge_response of every heartbeat read straight from its line bytes (issue 17 item 4): no string,
 * no JSON.parse object, no message or result object per response. It takes the plain form a guest sends
 * (one JSON object, the eight keys once each in any order, integers without fraction or exponent, ASCII
 * strings without escapes, JSON whitespace anywhere) and gives exactly what `parseMessage` gives for that
 * line; anything else returns false and the caller takes `parseMessage`, which decides and explains.
 * test/response-bytes.test.ts holds the two equal with fast-check.
 */
import { INT32_MAX, INT32_MIN, MAX_LOG_CHARS, MAX_VALUE_CHARS, PROTOCOL_VERSION } from './constants.js';
import { CORRECTIVE_ACTIONS, type CorrectiveAction } from './enums.js';
import type { ChallengeResponseMessage } from './wire-messages.js';

/**
 * The fields of one challenge_response, overwritten by each successful read: one per reader (a session's
 * decoder), read before the next line. Structurally a ChallengeResponseMessage, so the reducer takes it as one.
 */
export class ChallengeResponseFields implements ChallengeResponseMessage {
  version = 0;
  revision = 0;
  readonly msg_type = 'challenge_response' as const;
  sequence = 0;
  heartbeat_response = 0;
  heartbeat_health: 'healthy' | 'unhealthy' = 'unhealthy';
  corrective_action: CorrectiveAction = 'unknown';
  log_msg = '';

  /** A plain message with these values (for a caller that keeps it past the next read). */
  toMessage(): ChallengeResponseMessage {
    return {
      version: this.version, revision: this.revision, msg_type: 'challenge_response', sequence: this.sequence,
      heartbeat_response: this.heartbeat_response, heartbeat_health: this.heartbeat_health,
      corrective_action: this.corrective_action, log_msg: this.log_msg,
    };
  }
}

/** Key bytes → bit: each key must appear exactly once (a duplicate is left to JSON.parse, which keeps the last). */
const KEYS = ['version', 'revision', 'msg_type', 'sequence', 'heartbeat_response', 'heartbeat_health', 'corrective_action', 'log_msg'] as const;
const KEY_BYTES = KEYS.map((k) => Buffer.from(k));
const ALL_KEYS = (1 << KEYS.length) - 1;
const [K_VERSION, K_REVISION, K_MSG_TYPE, K_SEQUENCE, K_RESPONSE, K_HEALTH, K_ACTION] = [0, 1, 2, 3, 4, 5, 6] as const;
const MSG_TYPE = Buffer.from('challenge_response');
const HEALTHY = Buffer.from('healthy');
const ACTION_BYTES = CORRECTIVE_ACTIONS.map((a) => Buffer.from(a));
const UTF8 = new TextDecoder('utf-8');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Up to 15 digits: every such integer is exact in a double. Longer ones are left to JSON.parse. */
const MAX_DIGITS = 15;

/**
 * Reads bytes[start, end) (one line, trimmed) as a challenge_response into `out`; true when it did. False
 * means "not the plain form": the line may still be valid, and `parseMessage` must be asked.
 */
export function readChallengeResponseBytes(bytes: Uint8Array, start: number, end: number, out: ChallengeResponseFields): boolean {
  const r = CURSOR;
  r.bytes = bytes;
  r.end = end;
  const ok = readObject(r, start, out);
  r.bytes = NO_BYTES;   // do not keep the guest's read buffer alive
  return ok;
}

/**
 * The read position and the last scalar read, one for the module: the reader calls nothing outside this file,
 * so it cannot be re-entered, and a cursor per call would be garbage per heartbeat.
 */
class Cursor {
  bytes: Uint8Array = NO_BYTES;
  end = 0;
  /** Last integer read. */
  num = 0;
  /** Last string read: bytes[strStart, strEnd). */
  strStart = 0;
  strEnd = 0;
}

const NO_BYTES = new Uint8Array(0);
const CURSOR = new Cursor();

function readObject(r: Cursor, start: number, out: ChallengeResponseFields): boolean {
  const b = r.bytes;
  let i = skipWs(r, start);
  if (i >= r.end || b[i] !== 0x7b) return false;   // {
  let seen = 0;
  let version = 0;
  let revision = 0;
  let sequence = 0;
  let response = 0;
  let healthy = false;
  let action: CorrectiveAction = 'unknown';
  let logStart = 0;
  let logEnd = 0;
  for (;;) {
    i = readString(r, skipWs(r, i + 1));
    if (i < 0) return false;
    const key = keyOf(b, r.strStart, r.strEnd);
    if (key < 0 || (seen & (1 << key)) !== 0) return false;
    seen |= 1 << key;
    i = skipWs(r, i);
    if (i >= r.end || b[i] !== 0x3a) return false;   // :
    i = skipWs(r, i + 1);
    if (key === K_VERSION || key === K_REVISION || key === K_SEQUENCE || key === K_RESPONSE) {
      i = readInt(r, i);
      if (i < 0) return false;
      const v = r.num > INT32_MAX ? INT32_MAX : r.num < INT32_MIN ? INT32_MIN : r.num;   // Int32Schema clamps [WIRE-5]
      if (key === K_VERSION) {
        if (r.num < PROTOCOL_VERSION) return false;   // parseMessage nacks it [NACK-2]
        version = v;
      } else if (key === K_REVISION) revision = v;
      else if (key === K_SEQUENCE) sequence = v;
      else response = v;
    } else {
      i = readString(r, i);
      if (i < 0) return false;
      const len = r.strEnd - r.strStart;
      if (key === K_MSG_TYPE) {
        if (!same(b, r.strStart, r.strEnd, MSG_TYPE)) return false;
      } else if (key === K_HEALTH) {
        if (len > MAX_VALUE_CHARS) return false;   // TokenSchema [WIRE-6]
        healthy = same(b, r.strStart, r.strEnd, HEALTHY);
      } else if (key === K_ACTION) {
        if (len > MAX_VALUE_CHARS) return false;
        action = actionOf(b, r.strStart, r.strEnd);
      } else {
        logStart = r.strStart;
        logEnd = r.strEnd;
      }
    }
    i = skipWs(r, i);
    if (i >= r.end) return false;
    if (b[i] === 0x7d) break;   // }
    if (b[i] !== 0x2c) return false;   // ,
  }
  if (skipWs(r, i + 1) !== r.end || seen !== ALL_KEYS) return false;
  out.version = version;
  out.revision = revision;
  out.sequence = sequence;
  out.heartbeat_response = response;
  out.heartbeat_health = healthy ? 'healthy' : 'unhealthy';
  out.corrective_action = action;
  out.log_msg = logEnd === logStart ? '' : logText(b, logStart, logEnd);
  return true;
}

/** JSON whitespace: space, tab, LF, CR. */
function skipWs(r: Cursor, from: number): number {
  const b = r.bytes;
  let i = from;
  while (i < r.end) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** A string of printable ASCII without escapes at `from`; sets strStart/strEnd, returns the position after it or -1. */
function readString(r: Cursor, from: number): number {
  const b = r.bytes;
  if (from >= r.end || b[from] !== QUOTE) return -1;
  for (let i = from + 1; i < r.end; i++) {
    const c = b[i] as number;
    if (c === QUOTE) {
      r.strStart = from + 1;
      r.strEnd = i;
      return i + 1;
    }
    if (c < 0x20 || c >= 0x7f || c === BACKSLASH) return -1;
  }
  return -1;
}

/** `-?(0|[1-9][0-9]*)` of at most MAX_DIGITS digits, not followed by a fraction or exponent; -0 is left to JSON.parse. */
function readInt(r: Cursor, from: number): number {
  const b = r.bytes;
  let i = from;
  const negative = i < r.end && b[i] === 0x2d;
  if (negative) i++;
  const first = i;
  let n = 0;
  while (i < r.end) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    i++;
  }
  const digits = i - first;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && b[first] === 0x30)) return -1;
  if (i < r.end && (b[i] === 0x2e || b[i] === 0x65 || b[i] === 0x45)) return -1;   // . e E
  if (negative && n === 0) return -1;
  r.num = negative ? -n : n;
  return i;
}

function same(b: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let k = 0; k < want.length; k++) if (b[start + k] !== want[k]) return false;
  return true;
}

function keyOf(b: Uint8Array, start: number, end: number): number {
  for (let k = 0; k < KEY_BYTES.length; k++) if (same(b, start, end, KEY_BYTES[k] as Uint8Array)) return k;
  return -1;
}

/** The corrective action named by the bytes, or 'unknown' (as readChallengeResponse maps it). */
function actionOf(b: Uint8Array, start: number, end: number): CorrectiveAction {
  for (let k = 0; k < ACTION_BYTES.length; k++) if (same(b, start, end, ACTION_BYTES[k] as Uint8Array)) return CORRECTIVE_ACTIONS[k] as CorrectiveAction;
  return 'unknown';
}

/** A non-empty log_msg (printable ASCII, so one byte per character), cut as the schema cuts it. */
function logText(b: Uint8Array, start: number, end: number): string {
  const stop = end - start > MAX_LOG_CHARS ? start + MAX_LOG_CHARS : end;
  return Buffer.isBuffer(b) ? b.toString('latin1', start, stop) : UTF8.decode(b.subarray(start, stop));
}
