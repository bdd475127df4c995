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

/** What `LineFramer.next()` found (numbers, not objects: this runs on every heartbeat, issue 17). */
export const FRAME = {
  /** No complete line left in the chunk given to `begin()` (its rest is carried). */
  done: 0,
  /** A line inside the chunk, trimmed: bytes [lineStart, lineEnd) of `lineBytes`; `lineText()` decodes it. */
  bytes: 1,
  /** A line that needed decoding (carried over reads, or non-ASCII at its ends): `lineText()`. */
  text: 2,
  /** An over-long line was dropped: `droppedBytes`. */
  tooLong: 3,
} as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export class LineFramer {
  readonly maxLineBytes: number;
  #carry: Buffer = EMPTY;
  /** Bytes of the current over-long line dropped so far; -1 when not discarding. */
  #discarded = -1;
  /** The chunk being framed by next(), and where its unframed part starts. */
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #text = '';
  /** The chunk of the last FRAME.bytes line (valid until the next call). */
  lineBytes: Uint8Array = EMPTY;
  lineStart = 0;
  lineEnd = 0;
  /** Bytes dropped, for FRAME.tooLong. */
  droppedBytes = 0;

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
    this.begin(chunk);
    for (let k = this.next(); k !== FRAME.done; k = this.next()) {
      out.push(k === FRAME.tooLong ? { kind: 'too-long', droppedBytes: this.droppedBytes } : { kind: 'line', text: this.lineText() });
    }
    return out;
  }

  /**
   * Starts framing `chunk`: then call next() until it returns FRAME.done, which carries the chunk's
   * incomplete last line. The same lines as push(), without an array, a line object or a string per line.
   * The chunk must not change until then; reset() abandons it.
   */
  begin(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The next complete line of the chunk given to begin() (empty and blank lines skipped). */
  next(): FrameKind {
    const chunk = this.#chunk;
    for (;;) {
      const start = this.#pos;
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.#chunk = EMPTY;
        this.#pos = 0;
        this.lineBytes = EMPTY;
        if (start < chunk.length) this.#keep(chunk.subarray(start));
        return FRAME.done;
      }
      this.#pos = nl + 1;
      // An empty line with nothing carried or being discarded (the leading `\n` of every message) is skipped.
      if (nl > start || this.#carry.length > 0 || this.#discarded >= 0) {
        const kind = this.#finishLine(chunk, start, nl);
        if (kind !== FRAME.done) return kind;
      }
    }
  }

  /** The text of the last FRAME.bytes or FRAME.text line, trimmed. */
  lineText(): string {
    if (this.#text !== '') return this.#text;
    const b = this.lineBytes;
    return Buffer.isBuffer(b) ? b.toString('utf8', this.lineStart, this.lineEnd) : UTF8.decode(b.subarray(this.lineStart, this.lineEnd));
  }

  /** Drops any partial line (on disconnect), and the rest of a chunk being framed. */
  reset(): void {
    this.#carry = EMPTY;
    this.#discarded = -1;
    this.#chunk = EMPTY;
    this.#pos = 0;
    this.lineBytes = EMPTY;
    this.#text = '';
  }

  /** Ends the line whose last part is chunk[start, end); FRAME.done when it is blank. */
  #finishLine(chunk: Uint8Array, start: number, end: number): FrameKind {
    const tailBytes = end - start;
    this.#text = '';
    if (this.#discarded >= 0) {
      this.droppedBytes = this.#discarded + tailBytes;
      this.#discarded = -1;
      return FRAME.tooLong;
    }
    const total = this.#carry.length + tailBytes;
    if (total > this.maxLineBytes) {   // [WIRE-2]
      this.#carry = EMPTY;
      this.droppedBytes = total;
      return FRAME.tooLong;
    }
    if (this.#carry.length === 0) {
      // The common case, a whole line in one read, stays in the chunk (no view, string or object, issue 17).
      // [WIRE-3] blanks and \r around a line are ignored: ASCII whitespace is trimmed here; a line that starts
      // or ends with a non-ASCII byte (perhaps Unicode whitespace) is decoded and trimmed as a string.
      let a = start;
      let b = end;
      while (a < b && isAsciiSpace(chunk[a] as number)) a++;
      while (b > a && isAsciiSpace(chunk[b - 1] as number)) b--;
      if (a === b) return FRAME.done;
      this.lineBytes = chunk;
      this.lineStart = a;
      this.lineEnd = b;
      if ((chunk[a] as number) < 0x80 && (chunk[b - 1] as number) < 0x80) return FRAME.bytes;
      const raw = Buffer.isBuffer(chunk) ? chunk.toString('utf8', start, end) : UTF8.decode(chunk.subarray(start, end));
      return this.#textLine(raw);
    }
    const raw = UTF8.decode(Buffer.concat([this.#carry, chunk.subarray(start, end)]));
    this.#carry = EMPTY;
    return this.#textLine(raw);
  }

  #textLine(raw: string): FrameKind {
    this.#text = raw.trim();
    this.lineBytes = EMPTY;
    return this.#text.length > 0 ? FRAME.text : FRAME.done;
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

/** The whitespace String#trim removes that is ASCII: tab, LF, VT, FF, CR, space. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
