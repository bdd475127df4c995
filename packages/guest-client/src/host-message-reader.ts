/**
 * Reads host → guest messages the way the reference client does (client §3 "Host → guest parsing",
 * "Dispatch rules"): one JSON object per line, leading newline optional, split and batched writes fine;
 * version must be a number ≥ 3; `revision` and `sequence` are never read; unknown msg_types are ignored.
 */
import {
  HOST_TO_GUEST_TYPES, LineFramer, PROTOCOL_REVISION, PROTOCOL_VERSION, SCHEMA_BY_TYPE,
  type ActionNotifyMessage, type ChallengeMessage, type InitAckMessage, type MessageType, type NackMessage,
} from '@guesthb/protocol';

/** The messages the client acts on. */
export type HostMessage = ChallengeMessage | InitAckMessage | ActionNotifyMessage | NackMessage;

/** A line the client drops, with the reason (logged at debug, as the original logs and drops). */
export type ReadResult = { readonly ok: true; readonly message: HostMessage } | { readonly ok: false; readonly reason: string };

/** Longest line kept: the reference reads 4096 bytes at a time; a longer line is dropped whole. */
export const MAX_HOST_LINE_BYTES = 4096;

export class HostMessageReader {
  readonly #framer = new LineFramer(MAX_HOST_LINE_BYTES);

  /** Feeds bytes from the channel; returns one result per complete line. Never throws. */
  push(chunk: Uint8Array): ReadResult[] {
    return this.#framer.push(chunk).map((line) =>
      line.kind === 'line' ? readHostLine(line.text) : { ok: false, reason: `line of ${line.droppedBytes} bytes dropped` },
    );
  }

  /** Forgets a partial line (channel down). */
  reset(): void {
    this.#framer.reset();
  }
}

/** Parses one line into a host message, or the reason it is dropped. */
export function readHostLine(text: string): ReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const obj = value as Record<string, unknown>;
  const version = obj['version'];
  if (typeof version !== 'number' || !Number.isFinite(version)) return { ok: false, reason: 'failed to parse version' };
  if (version < PROTOCOL_VERSION) return { ok: false, reason: `message received version ${version}, expected 3, dropping` };
  const msgType = obj['msg_type'];
  if (typeof msgType !== 'string') return { ok: false, reason: 'failed to parse msg_type' };
  if (!(HOST_TO_GUEST_TYPES as readonly string[]).includes(msgType)) return { ok: false, reason: `ignored msg_type ${msgType.slice(0, 32)}` };
  // The header schema wants revision and sequence; the client never reads them, so absent ones are filled.
  const filled = { ...obj, revision: typeof obj['revision'] === 'number' ? obj['revision'] : PROTOCOL_REVISION, sequence: typeof obj['sequence'] === 'number' ? obj['sequence'] : 0 };
  const parsed = SCHEMA_BY_TYPE[msgType as MessageType].safeParse(filled);
  if (!parsed.success) return { ok: false, reason: `failed to parse ${String(parsed.error.issues[0]?.path[0] ?? 'message')}` };
  return { ok: true, message: parsed.data as HostMessage };
}
