/** Encoder of host↔guest messages: exactly `\n{compact json}\n` in the reference key order (daemons §1.4, §1.6). */
import { MAX_MESSAGE_BYTES, PROTOCOL_REVISION, PROTOCOL_VERSION } from './constants.js';
import { ProtocolError } from './errors.js';
import { FREE_TEXT_LIMITS, HEADER_KEYS, KEY_ORDER, type WireBody, type WireMessage } from './wire-messages.js';

/**
 * Encodes one message. Header keys first (version 3, revision 1 unless given), then the type's keys in
 * reference order. Strings are JSON-escaped (the original spliced them in raw: daemons §1.5, client §3);
 * integers are written as the original's `%d` of an int32 (daemons §1.6: a uint32 sequence above 2^31−1
 * prints negative); free text is cut to its C buffer size − 1 UTF-8 bytes (client §3), and log_msg is
 * shortened further if the message would exceed 1056 bytes. Throws PROTO_ERR_MESSAGE_TOO_LARGE only when
 * no cut of log_msg can make the message fit (a programmer error: the fixed keys alone never come close).
 */
export function encodeMessage(body: WireBody | WireMessage): Buffer {
  const source = body as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {
    version: toInt32(source['version'] ?? PROTOCOL_VERSION),
    revision: toInt32(source['revision'] ?? PROTOCOL_REVISION),
  };
  for (const key of HEADER_KEYS.slice(2)) ordered[key] = toInt32(source[key]);
  for (const key of KEY_ORDER[body.msg_type]) {
    const value = source[key];
    const limit = FREE_TEXT_LIMITS[key];
    ordered[key] = typeof value === 'string' && limit !== undefined ? cutToBytes(value, limit - 1) : toInt32(value);
  }
  let json = JSON.stringify(ordered);
  let excess = Buffer.byteLength(json) - MAX_MESSAGE_BYTES;
  if (excess > 0 && typeof ordered['log_msg'] === 'string') {
    ordered['log_msg'] = shortenToFit(ordered['log_msg'], excess);
    json = JSON.stringify(ordered);
    excess = Buffer.byteLength(json) - MAX_MESSAGE_BYTES;
  }
  if (excess > 0) {   // [WIRE-2]
    throw new ProtocolError('PROTO_ERR_MESSAGE_TOO_LARGE', `${body.msg_type} is ${excess} bytes over ${MAX_MESSAGE_BYTES}`);
  }
  return Buffer.from(`\n${json}\n`);   // [WIRE-1]
}

/** Numbers become int32 as C's `%d` of an int prints them; other values pass unchanged. [WIRE-5] */
function toInt32(value: unknown): unknown {
  return typeof value === 'number' ? value | 0 : value;
}

/** The longest prefix of whole code points whose UTF-8 form fits in `maxBytes`. [WIRE-7] */
function cutToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > maxBytes) break;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** The longest prefix of whole code points whose JSON-escaped form is at least `excessBytes` shorter. */
function shortenToFit(text: string, excessBytes: number): string {
  // Escapes make the JSON longer than the text (a control character costs 6 bytes): count escaped bytes.
  const budget = Buffer.byteLength(JSON.stringify(text)) - 2 - excessBytes;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(JSON.stringify(ch)) - 2;
    if (bytes > budget) break;
    end += ch.length;
  }
  return text.slice(0, end);
}
