/**
 * Turns bytes received on awd_node into heartbeat inputs, per input mode (README "Input modes"):
 * - any: every received chunk counts (what the patch's documentation promised, awd spec §2.1);
 * - frame: 4-byte big-endian length frames, the patch's real format, bounded at NET_BUFSIZE;
 * - watchdog1: lines `WATCHDOG=1` (the reviewers' proposal, awd spec §3); other input is ignored.
 * A decoder never throws and holds at most MAX_FRAME_BYTES (frame) or MAX_LINE_BYTES (watchdog1).
 */
import type { InputMode } from './config.js';

/** QEMU's NET_BUFSIZE (4096 + 65536): the patch's frame limit. */
export const MAX_FRAME_BYTES = 69_632;
const MAX_LINE_BYTES = 256;

/** Encodes one patch-style frame: 4-byte big-endian length, then the payload. */
export function encodeFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** The patch's periodic pulse: "advanced-watchdog pulse" plus NUL, header 0x00000018 (awd spec §2.2). */
export const PULSE_FRAME = encodeFrame(Buffer.from('advanced-watchdog pulse\0', 'latin1'));
/** The patch's reply to each received frame when server=off: 30 payload bytes, header 0x0000001E. */
export const REPLY_FRAME = encodeFrame(Buffer.from('advanced-watchdog reply pulse\0', 'latin1'));
/** The pulse of watchdog1 mode, so two awds in that mode keep each other alive. */
export const WATCHDOG1_LINE = Buffer.from('WATCHDOG=1\n', 'latin1');

export interface DecodeResult {
  /** Heartbeat inputs found in the chunk (each refreshes the timer). */
  inputs: number;
  /** Inputs that deserve a reply pulse when server=off (reply pulses themselves never do). */
  replies: number;
  /** Anomalies to log, e.g. an over-long frame that reset the parser. */
  problems: string[];
}

export interface InputDecoder {
  push(chunk: Buffer): DecodeResult;
  /** Drops partial input (on disconnect, so a cut frame cannot desynchronise the next connection). */
  reset(): void;
}

/** Creates the decoder for one connection of one watchdog. */
export function createInputDecoder(mode: InputMode): InputDecoder {
  switch (mode) {
    case 'any':
      return { push: decodeAny, reset: () => undefined };
    case 'frame':
      return new FrameDecoder();
    case 'watchdog1':
      return new Watchdog1Decoder();
  }
}

function decodeAny(chunk: Buffer): DecodeResult {
  if (chunk.length === 0) return { inputs: 0, replies: 0, problems: [] };
  return { inputs: 1, replies: isOnlyReplies(chunk) ? 0 : 1, problems: [] };
}

function isOnlyReplies(chunk: Buffer): boolean {
  if (chunk.length % REPLY_FRAME.length !== 0) return false;
  for (let i = 0; i < chunk.length; i += REPLY_FRAME.length) {
    if (!chunk.subarray(i, i + REPLY_FRAME.length).equals(REPLY_FRAME)) return false;
  }
  return true;
}

class FrameDecoder implements InputDecoder {
  #header = Buffer.alloc(0);
  #payload: Buffer[] = [];
  #payloadBytes = 0;
  #expected = -1;

  push(chunk: Buffer): DecodeResult {
    const result: DecodeResult = { inputs: 0, replies: 0, problems: [] };
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#expected < 0) {
        const take = Math.min(4 - this.#header.length, chunk.length - offset);
        this.#header = Buffer.concat([this.#header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (this.#header.length < 4) break;
        this.#expected = this.#header.readUInt32BE(0);
        if (this.#expected > MAX_FRAME_BYTES) {
          // The patch unregistered its read handler for good here (awd spec §2.1). We drop the rest of
          // this chunk, resynchronise on the next one, and keep listening.
          result.problems.push(`frame length ${this.#expected} exceeds ${MAX_FRAME_BYTES}: parser reset`);
          this.reset();
          break;
        }
      }
      const take = Math.min(this.#expected - this.#payloadBytes, chunk.length - offset);
      if (take > 0) {
        this.#payload.push(chunk.subarray(offset, offset + take));
        this.#payloadBytes += take;
        offset += take;
      }
      if (this.#payloadBytes === this.#expected) {
        const payload = Buffer.concat(this.#payload);
        result.inputs++;
        if (!payload.equals(REPLY_FRAME.subarray(4))) result.replies++;
        this.reset();
      }
    }
    return result;
  }

  reset(): void {
    this.#header = Buffer.alloc(0);
    this.#payload = [];
    this.#payloadBytes = 0;
    this.#expected = -1;
  }
}

class Watchdog1Decoder implements InputDecoder {
  #carry = '';
  /** The carry already counted as `WATCHDOG=1` (sent without a newline): do not count it twice. */
  #carryCounted = false;

  push(chunk: Buffer): DecodeResult {
    const result: DecodeResult = { inputs: 0, replies: 0, problems: [] };
    const lines = (this.#carry + chunk.toString('latin1')).split('\n');
    this.#carry = lines.pop() ?? '';
    for (const line of lines) {
      if (isKeepalive(line) && !this.#carryCounted) result.inputs++;
      this.#carryCounted = false;
    }
    if (this.#carry.length > MAX_LINE_BYTES) {
      result.problems.push(`line longer than ${MAX_LINE_BYTES} bytes ignored`);
      this.#carry = this.#carry.slice(-MAX_LINE_BYTES);
      this.#carryCounted = true; // the tail of a garbage line never counts
    } else if (!this.#carryCounted && isKeepalive(this.#carry)) {
      // Paolo's rule: exactly WATCHDOG=1, optionally followed by one newline (awd spec §3).
      result.inputs++;
      this.#carryCounted = true;
    }
    return result;
  }

  reset(): void {
    this.#carry = '';
    this.#carryCounted = false;
  }
}

function isKeepalive(line: string): boolean {
  return line === 'WATCHDOG=1' || line === 'WATCHDOG=1\r';
}
