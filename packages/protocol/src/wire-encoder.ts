/** Encoder of host↔guest messages: exactly `\n{compact json}\n` in the reference key order (daemons §1.4, §1.6). */
import { MAX_MESSAGE_BYTES, PROTOCOL_REVISION, PROTOCOL_VERSION } from './constants.js';
import { ProtocolError } from './errors.js';
import { FREE_TEXT_LIMITS, HEADER_KEYS, KEY_ORDER, type WireBody, type WireMessage } from './wire-messages.js';

/**
 * Encodes one message. Header keys first (version 3, revision 1 unless given), then the type's keys in
 * reference order. Strings are JSON-escaped (the original spliced them in raw: daemons §9 item 15) and
 * free text is cut to its limit; log_msg is shortened further if the message would exceed 1056 bytes.
 */
export function encodeMessage(body: WireBody | WireMessage): Buffer {
  const source = body as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {
    version: source['version'] ?? PROTOCOL_VERSION,
    revision: source['revision'] ?? PROTOCOL_REVISION,
  };
  for (const key of HEADER_KEYS.slice(2)) ordered[key] = source[key];
  for (const key of KEY_ORDER[body.msg_type]) {
    const value = source[key];
    const limit = FREE_TEXT_LIMITS[key];
    ordered[key] = typeof value === 'string' && limit !== undefined ? value.slice(0, limit) : value;
  }
  let json = JSON.stringify(ordered);
  let excess = Buffer.byteLength(json) - MAX_MESSAGE_BYTES;
  if (excess > 0 && typeof ordered['log_msg'] === 'string') {
    ordered['log_msg'] = shortenToFit(ordered['log_msg'], excess);
    json = JSON.stringify(ordered);
    excess = Buffer.byteLength(json) - MAX_MESSAGE_BYTES;
  }
  if (excess > 0) {
    throw new ProtocolError('PROTO_ERR_MESSAGE_TOO_LARGE', `${body.msg_type} is ${excess} bytes over ${MAX_MESSAGE_BYTES}`);
  }
  return Buffer.from(`\n${json}\n`);
}

function shortenToFit(text: string, excessBytes: number): string {
  let cut = text;
  // Escapes make the JSON longer than the text: shorten until the encoded value has shed enough bytes.
  while (cut.length > 0 && Buffer.byteLength(JSON.stringify(text)) - Buffer.byteLength(JSON.stringify(cut)) < excessBytes) {
    cut = cut.slice(0, Math.max(0, cut.length - Math.max(1, Math.ceil((excessBytes) / 8))));
  }
  return cut;
}
