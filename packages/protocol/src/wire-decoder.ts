/** A per-connection decoder: bytes in, messages or reasoned errors out (framing + parsing). Never throws. */
import { MAX_MESSAGE_BYTES } from './constants.js';
import type { MessageType } from './enums.js';
import { LineFramer } from './line-framer.js';
import { parseMessage, type ParseResult } from './message-parser.js';

/** One decoded line: a message, or why it was refused. */
export type DecodeResult =
  | ParseResult
  | { readonly ok: false; readonly code: 'PROTO_ERR_LINE_TOO_LONG'; readonly reason: string; readonly nack: undefined };

export class WireDecoder {
  readonly #framer: LineFramer;
  readonly #accepted: readonly MessageType[];

  /** `accepted`: the message types this side acts on (GUEST_TO_HOST_TYPES on a host). */
  constructor(accepted: readonly MessageType[], maxLineBytes: number = MAX_MESSAGE_BYTES) {
    this.#accepted = accepted;
    this.#framer = new LineFramer(maxLineBytes);
  }

  /** Bytes held for an incomplete line. */
  get carryBytes(): number {
    return this.#framer.carryBytes;
  }

  /** Feeds one chunk; returns one result per complete line, in order. */
  push(chunk: Uint8Array): DecodeResult[] {
    return this.#framer.push(chunk).map((framed): DecodeResult =>
      framed.kind === 'line'
        ? parseMessage(framed.text, this.#accepted)
        : { ok: false, code: 'PROTO_ERR_LINE_TOO_LONG', reason: `line of ${framed.droppedBytes} bytes discarded`, nack: undefined },
    );
  }

  /** Forgets a partial line (after a disconnect). */
  reset(): void {
    this.#framer.reset();
  }
}
