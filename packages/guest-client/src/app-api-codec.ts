/**
 * The binary management API between the guest-client and in-guest applications (client §8), as a pure
 * codec: every message is exactly 228 bytes, a 20-byte header and a 208-byte body union, in the host's
 * native byte order. The reference is built for x86_64 only, so native = **little-endian**; we always
 * read and write little-endian (a big-endian guest would need the other order, which the original never
 * shipped).
 *
 * Offsets derived from the C structs (natural alignment, no packing; every member is a char array or a
 * 4-byte enum/u32, so no padding appears anywhere; test/app-api-codec.test.ts pins each one):
 *
 *   header        0 char magic[8] = "FDFDA5A5" (no NUL)   8 u8 version = 2   9 u8 revision = 1
 *                10 u16 msg_type   12 u32 sequence   16 u32 size = 228
 *   body union   20 … 227 (208 bytes = the largest member, ACTION_RESPONSE)
 *   INIT               20 char application_name[40]  60 u32 heartbeat_interval_ms  64 u32 vote_secs
 *                      68 u32 shutdown_notice_secs  72 u32 suspend_notice_secs  76 u32 resume_notice_secs
 *                      80 u32 corrective_action   (ends at 84)
 *   INIT_ACK           20 u32 accepted
 *   FINAL              20 char log_msg[192]   (ends at 212)
 *   CHALLENGE          20 u32 heartbeat_challenge
 *   CHALLENGE_RESPONSE 20 u32 heartbeat_response  24 u32 health (1 = healthy)  28 u32 corrective_action
 *                      32 char log_msg[192]   (ends at 224)
 *   ACTION_NOTIFY      20 u32 invocation_id  24 u32 event_type  28 u32 notification_type
 *   ACTION_RESPONSE    20 u32 invocation_id  24 u32 event_type  28 u32 notification_type
 *                      32 u32 vote_result  36 char log_msg[192]   (ends at 228)
 *
 * Strings are NUL-padded; an over-long string is cut (at a UTF-8 character boundary) so that a NUL always
 * ends it, never overflowing its array. Unused body bytes are zero.
 */
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, NOTIFICATION_TYPES,
  type CorrectiveAction, type EventType, type Health, type NotificationType,
} from '@guesthb/protocol';

/** The socket path of the original daemon and library (client §8). */
export const DEFAULT_APP_API_SOCKET = '/var/run/.guest_heartbeat_api';
export const APP_MAGIC = 'FDFDA5A5';
const MAGIC_BYTES = Buffer.from(APP_MAGIC, 'latin1');
export const APP_VERSION = 2;
export const APP_REVISION = 1;
export const APP_HEADER_BYTES = 20;
export const APP_BODY_BYTES = 208;
export const APP_MESSAGE_BYTES = 228;
export const APP_NAME_BYTES = 40;
export const APP_LOG_BYTES = 192;
/** A header whose version is not 2 is skipped by this many bytes (client §8 "Receiver resynchronisation"). */
export const APP_BAD_VERSION_SKIP_BYTES = 8;

/** msg_type values (client §8). */
export const AppMessageType = {
  INIT: 0, INIT_ACK: 1, FINAL: 2, CHALLENGE: 3, CHALLENGE_RESPONSE: 4, ACTION_NOTIFY: 5, ACTION_RESPONSE: 6,
} as const;
export type AppMessageType = (typeof AppMessageType)[keyof typeof AppMessageType];
const MAX_MESSAGE_TYPE = 6;

/** vote values on the binary API (client §8): no timeout/error, those are the daemon's own verdicts. */
export const APP_VOTE_RESULTS = ['unknown', 'accept', 'reject', 'complete'] as const;
export type AppVoteResult = (typeof APP_VOTE_RESULTS)[number];

interface AppHeaderFields {
  /** Sequence as sent; the daemon never relies on it. Defaults to 0 when encoding. */
  readonly sequence?: number;
}

export type AppMessage = AppHeaderFields & (
  | {
    readonly type: 'init'; readonly applicationName: string; readonly heartbeatIntervalMs: number; readonly voteSecs: number;
    readonly shutdownNoticeSecs: number; readonly suspendNoticeSecs: number; readonly resumeNoticeSecs: number;
    readonly correctiveAction: CorrectiveAction;
  }
  | { readonly type: 'init_ack'; readonly accepted: boolean }
  | { readonly type: 'final'; readonly logMsg: string }
  | { readonly type: 'challenge'; readonly heartbeatChallenge: number }
  | {
    readonly type: 'challenge_response'; readonly heartbeatResponse: number; readonly health: Health;
    readonly correctiveAction: CorrectiveAction; readonly logMsg: string;
  }
  | { readonly type: 'action_notify'; readonly invocationId: number; readonly eventType: EventType; readonly notificationType: NotificationType }
  | {
    readonly type: 'action_response'; readonly invocationId: number; readonly eventType: EventType;
    readonly notificationType: NotificationType; readonly voteResult: AppVoteResult; readonly logMsg: string;
  }
);
export type AppMessageKind = AppMessage['type'];

const KIND_TO_TYPE: Record<AppMessageKind, AppMessageType> = {
  init: 0, init_ack: 1, final: 2, challenge: 3, challenge_response: 4, action_notify: 5, action_response: 6,
};
const TYPE_TO_KIND: readonly AppMessageKind[] = ['init', 'init_ack', 'final', 'challenge', 'challenge_response', 'action_notify', 'action_response'];

/** Messages an application sends (the daemon accepts only these). */
export const APP_TO_DAEMON_KINDS: readonly AppMessageKind[] = ['init', 'final', 'challenge_response', 'action_response'];
/** Messages the daemon sends (a test application accepts only these). */
export const DAEMON_TO_APP_KINDS: readonly AppMessageKind[] = ['init_ack', 'challenge', 'action_notify'];

/** Encodes one message into exactly 228 bytes. Numbers are taken modulo 2^32 (u32 fields). */
export function encodeAppMessage(message: AppMessage): Buffer {
  const b = Buffer.alloc(APP_MESSAGE_BYTES);
  MAGIC_BYTES.copy(b, 0);
  b.writeUInt8(APP_VERSION, 8);
  b.writeUInt8(APP_REVISION, 9);
  b.writeUInt16LE(KIND_TO_TYPE[message.type], 10);
  b.writeUInt32LE(u32(message.sequence ?? 0), 12);
  b.writeUInt32LE(APP_MESSAGE_BYTES, 16);
  switch (message.type) {
    case 'init':
      writeString(b, 20, APP_NAME_BYTES, message.applicationName);
      b.writeUInt32LE(u32(message.heartbeatIntervalMs), 60);
      b.writeUInt32LE(u32(message.voteSecs), 64);
      b.writeUInt32LE(u32(message.shutdownNoticeSecs), 68);
      b.writeUInt32LE(u32(message.suspendNoticeSecs), 72);
      b.writeUInt32LE(u32(message.resumeNoticeSecs), 76);
      b.writeUInt32LE(CORRECTIVE_ACTIONS.indexOf(message.correctiveAction), 80);
      break;
    case 'init_ack':
      b.writeUInt32LE(message.accepted ? 1 : 0, 20);
      break;
    case 'final':
      writeString(b, 20, APP_LOG_BYTES, message.logMsg);
      break;
    case 'challenge':
      b.writeUInt32LE(u32(message.heartbeatChallenge), 20);
      break;
    case 'challenge_response':
      b.writeUInt32LE(u32(message.heartbeatResponse), 20);
      b.writeUInt32LE(message.health === 'healthy' ? 1 : 0, 24);
      b.writeUInt32LE(CORRECTIVE_ACTIONS.indexOf(message.correctiveAction), 28);
      writeString(b, 32, APP_LOG_BYTES, message.logMsg);
      break;
    case 'action_notify':
    case 'action_response':
      b.writeUInt32LE(u32(message.invocationId), 20);
      b.writeUInt32LE(EVENT_TYPES.indexOf(message.eventType), 24);
      b.writeUInt32LE(NOTIFICATION_TYPES.indexOf(message.notificationType), 28);
      if (message.type === 'action_response') {
        b.writeUInt32LE(APP_VOTE_RESULTS.indexOf(message.voteResult), 32);
        writeString(b, 36, APP_LOG_BYTES, message.logMsg);
      }
      break;
  }
  return b;
}

function u32(n: number): number {
  return Number.isFinite(n) ? Math.trunc(n) >>> 0 : 0;
}

/** Writes `text` NUL-padded into `size` bytes at `offset`, cut to size − 1 bytes at a character boundary. */
function writeString(b: Buffer, offset: number, size: number, text: string): void {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > size - 1) {
    let end = size - 1;
    while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;   // do not split a multi-byte character
    bytes = bytes.subarray(0, end);
  }
  bytes.copy(b, offset);
}

function readString(b: Uint8Array, offset: number, size: number): string {
  const field = b.subarray(offset, offset + size);
  const nul = field.indexOf(0);
  return Buffer.from(field.subarray(0, nul < 0 ? size : nul)).toString('utf8');
}

function pick<T extends string>(vocabulary: readonly T[], index: number, fallback: T): T {
  return vocabulary[index] ?? fallback;
}

/**
 * Decodes the body of one complete, framed 228-byte message (header already checked). Never throws;
 * an out-of-range enumeration value reads as `unknown`, a health other than 1 as unhealthy.
 */
export function decodeAppBody(b: Uint8Array, msgType: AppMessageType, sequence: number): AppMessage {
  const v = new DataView(b.buffer, b.byteOffset, APP_MESSAGE_BYTES);
  const at = (offset: number): number => v.getUint32(offset, true);
  const action = (offset: number): CorrectiveAction => pick(CORRECTIVE_ACTIONS, at(offset), 'unknown');
  switch (TYPE_TO_KIND[msgType] ?? 'init') {
    case 'init':
      return {
        type: 'init', sequence, applicationName: readString(b, 20, APP_NAME_BYTES), heartbeatIntervalMs: at(60), voteSecs: at(64),
        shutdownNoticeSecs: at(68), suspendNoticeSecs: at(72), resumeNoticeSecs: at(76), correctiveAction: action(80),
      };
    case 'init_ack':
      return { type: 'init_ack', sequence, accepted: at(20) !== 0 };
    case 'final':
      return { type: 'final', sequence, logMsg: readString(b, 20, APP_LOG_BYTES) };
    case 'challenge':
      return { type: 'challenge', sequence, heartbeatChallenge: at(20) };
    case 'challenge_response':
      return {
        type: 'challenge_response', sequence, heartbeatResponse: at(20), health: at(24) === 1 ? 'healthy' : 'unhealthy',
        correctiveAction: action(28), logMsg: readString(b, 32, APP_LOG_BYTES),
      };
    case 'action_notify':
      return {
        type: 'action_notify', sequence, invocationId: at(20), eventType: pick(EVENT_TYPES, at(24), 'unknown'),
        notificationType: pick(NOTIFICATION_TYPES, at(28), 'unknown'),
      };
    case 'action_response':
      return {
        type: 'action_response', sequence, invocationId: at(20), eventType: pick(EVENT_TYPES, at(24), 'unknown'),
        notificationType: pick(NOTIFICATION_TYPES, at(28), 'unknown'), voteResult: pick(APP_VOTE_RESULTS, at(32), 'unknown'),
        logMsg: readString(b, 36, APP_LOG_BYTES),
      };
  }
}

/** Why bytes were dropped by the decoder. */
export type AppDecodeReason = 'garbage' | 'bad-version' | 'bad-size' | 'bad-msg-type' | 'unexpected-msg-type';

export type AppDecodeResult =
  | { readonly ok: true; readonly message: AppMessage }
  | { readonly ok: false; readonly reason: AppDecodeReason; readonly detail: string };

/** The decoder never carries more than one message minus a byte (client §8; bounded per connection). */
export const APP_MAX_CARRY_BYTES = APP_MESSAGE_BYTES - 1;

/**
 * Streaming decoder, one per connection (the original kept its "have start/have header" flags in statics
 * shared by all connections, client §8 quirk; ours are per instance). It scans for the magic, skips a
 * header whose version is not 2 by 8 bytes, rejects a bad msg_type or size with a reason (and skips past
 * that magic), and keeps at most 227 bytes between pushes. It never throws.
 */
export class AppMessageDecoder {
  readonly #accept: ReadonlySet<AppMessageKind>;
  #carry: Buffer = Buffer.alloc(0);

  constructor(accept: readonly AppMessageKind[] = TYPE_TO_KIND) {
    this.#accept = new Set(accept);
  }

  /** Bytes held back waiting for the rest of a message. */
  get carryBytes(): number {
    return this.#carry.length;
  }

  reset(): void {
    this.#carry = Buffer.alloc(0);
  }

  push(chunk: Uint8Array): AppDecodeResult[] {
    const buf = this.#carry.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#carry, chunk]);
    const results: AppDecodeResult[] = [];
    let pos = 0;
    for (;;) {
      const start = buf.indexOf(MAGIC_BYTES, pos);
      if (start < 0) {
        // Keep a tail that may be the beginning of a magic split over two reads.
        const keep = Math.min(buf.length - pos, MAGIC_BYTES.length - 1);
        const tail = partialMagicLength(buf, buf.length - keep);
        if (buf.length - tail > pos) results.push(fail('garbage', `${buf.length - tail - pos} bytes without a header`));
        this.#carry = Buffer.from(buf.subarray(buf.length - tail));
        break;
      }
      if (start > pos) results.push(fail('garbage', `${start - pos} bytes before a header`));
      if (buf.length - start < APP_HEADER_BYTES) {
        this.#carry = Buffer.from(buf.subarray(start));
        break;
      }
      const version = buf.readUInt8(start + 8);
      const msgType = buf.readUInt16LE(start + 10);
      const size = buf.readUInt32LE(start + 16);
      if (version !== APP_VERSION) {
        results.push(fail('bad-version', `version ${version}, expected ${APP_VERSION}`));
        pos = start + APP_BAD_VERSION_SKIP_BYTES;
        continue;
      }
      if (size !== APP_MESSAGE_BYTES) {
        results.push(fail('bad-size', `size ${size}, expected ${APP_MESSAGE_BYTES}`));
        pos = start + APP_BAD_VERSION_SKIP_BYTES;
        continue;
      }
      if (msgType > MAX_MESSAGE_TYPE) {
        results.push(fail('bad-msg-type', `msg_type ${msgType}`));
        pos = start + APP_BAD_VERSION_SKIP_BYTES;
        continue;
      }
      if (buf.length - start < APP_MESSAGE_BYTES) {
        this.#carry = Buffer.from(buf.subarray(start));
        break;
      }
      const message = decodeAppBody(buf.subarray(start, start + APP_MESSAGE_BYTES), msgType as AppMessageType, buf.readUInt32LE(start + 12));
      if (this.#accept.has(message.type)) results.push({ ok: true, message });
      else results.push(fail('unexpected-msg-type', `${message.type} is not sent in this direction`));
      pos = start + APP_MESSAGE_BYTES;
    }
    return results;
  }
}

/** Length of the longest suffix of `buf` (starting at or after `from`) that is a proper prefix of the magic. */
function partialMagicLength(buf: Buffer, from: number): number {
  for (let len = Math.min(MAGIC_BYTES.length - 1, buf.length - from); len > 0; len--) {
    if (buf.subarray(buf.length - len).equals(MAGIC_BYTES.subarray(0, len))) return len;
  }
  return 0;
}

function fail(reason: AppDecodeReason, detail: string): AppDecodeResult {
  return { ok: false, reason, detail };
}
