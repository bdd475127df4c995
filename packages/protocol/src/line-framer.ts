/**
 * Splits a byte stream into `\n`-delimited lines with one carry buffer per connection (daemons §1.4
 * "Reimplementation guidance"). A line split over any number of chunks is reassembled; a line longer
 * than MAX_MESSAGE_BYTES is discarded up to its next newline. The carry never exceeds the limit.
 * It never throws. (The original dropped reads under 32 bytes and lost split messages: bugs, not rules.)
 */
import { MAX_MESSAGE_BYTES } from './constants.js';

const NEWLINE = 0x0a;
/** The empty carry, shared: a line ends on every heartbeat, and a new empty Buffer per line is garbage. */
const EMPTY: Buffer = Buffer.alloc(0);
/** Decodes a line straight from the chunk (no copy into a fresh Buffer first); bad UTF-8 becomes U+FFFD as with Buffer. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** One result of framing: a complete line, or the notice that an over-long line was dropped. */
export type FramedLine =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'too-long'; readonly droppedBytes: number };

export class LineFramer {
  readonly maxLineBytes: number;
  #carry: Buffer = EMPTY;
  /** Bytes of the current over-long line dropped so far; -1 when not discarding. */
  #discarded = -1;

  constructor(maxLineBytes: number = MAX_MESSAGE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held for an incomplete line (never more than maxLineBytes). */
  get carryBytes(): number {
    return this.#carry.length;
  }

  /** Feeds one chunk; returns every complete line (empty and blank lines skipped) in order. */
  push(chunk: Uint8Array): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      // An empty line with nothing carried or being discarded (the leading `\n` of every message) is skipped.
      if (nl > start || this.#carry.length > 0 || this.#discarded >= 0) this.#finishLine(chunk, start, nl, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
    return out;
  }

  /** Drops any partial line (on disconnect). */
  reset(): void {
    this.#carry = EMPTY;
    this.#discarded = -1;
  }

  /** Ends the line whose last part is chunk[start, end). */
  #finishLine(chunk: Uint8Array, start: number, end: number, out: FramedLine[]): void {
    const tailBytes = end - start;
    if (this.#discarded >= 0) {
      out.push({ kind: 'too-long', droppedBytes: this.#discarded + tailBytes });
      this.#discarded = -1;
      return;
    }
    const total = this.#carry.length + tailBytes;
    if (total > this.maxLineBytes) {   // [WIRE-2]
      out.push({ kind: 'too-long', droppedBytes: total });
    } else {
      // The common case, a whole line in one Buffer read, is decoded in place (no view object per line, issue 17).
      const raw = this.#carry.length === 0
        ? (Buffer.isBuffer(chunk) ? chunk.toString('utf8', start, end) : UTF8.decode(chunk.subarray(start, end)))
        : UTF8.decode(Buffer.concat([this.#carry, chunk.subarray(start, end)]));
      const text = raw.trim();   // [WIRE-3] blanks and \r around a line are ignored
      if (text.length > 0) out.push({ kind: 'line', text });
    }
    this.#carry = EMPTY;
  }

  #keep(rest: Uint8Array): void {
    if (this.#discarded >= 0) {
      this.#discarded += rest.length;
      return;
    }
    if (this.#carry.length + rest.length > this.maxLineBytes) {
      this.#discarded = this.#carry.length + rest.length;   // [WIRE-2] start discarding up to the next newline
      this.#carry = EMPTY;
      return;
    }
    this.#carry = Buffer.concat([this.#carry, rest]);
  }
}
