/** The streaming decoder (daemons §1.4 "Reimplementation guidance", client §3): carry buffer, limits, never throws. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeMessage, GUEST_TO_HOST_TYPES, LineFramer, MAX_MESSAGE_BYTES, MESSAGE_TYPES, SCHEMA_BY_TYPE, WireDecoder,
  type DecodeResult, type WireBody, type WireMessage,
} from '../src/index.js';
import { garbageArb, splitAt, wireBodyArb } from './arbitraries.js';
import { CLEAN_TRANSCRIPT } from './fixtures/transcript.js';

/** What a receiver must get for an encoded body: the schema's reading of the bytes the encoder wrote. */
function expected(body: WireBody): WireMessage {
  const bytes = encodeMessage(body);
  return SCHEMA_BY_TYPE[body.msg_type].parse(JSON.parse(bytes.toString())) as WireMessage;
}

/** Feeds every chunk, checking the carry bound after each push; returns every result in order. */
function feed(decoder: WireDecoder, chunks: readonly Uint8Array[]): DecodeResult[] {
  const results: DecodeResult[] = [];
  for (const chunk of chunks) {
    results.push(...decoder.push(chunk));
    expect(decoder.carryBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  }
  return results;
}

function messages(results: readonly DecodeResult[]): WireMessage[] {
  return results.flatMap((r) => (r.ok ? [r.message] : []));
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

describe('WireDecoder: properties (fast-check)', () => {
  it('[WIRE-3] decodes any split of any sequence of valid messages to the same messages, in order', () => {
    fc.assert(
      fc.property(fc.array(wireBodyArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map((b) => encodeMessage(b)));
        const decoder = new WireDecoder(MESSAGE_TYPES);
        const results = feed(decoder, splitAt(stream, cuts));
        expect(results.every((r) => r.ok)).toBe(true);
        expect(messages(results)).toEqual(bodies.map(expected));
        expect(decoder.carryBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a stream fed one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(wireBodyArb, { minLength: 1, maxLength: 4 }), (bodies) => {
        const stream = Buffer.concat(bodies.map((b) => encodeMessage(b)));
        const decoder = new WireDecoder(MESSAGE_TYPES);
        const chunks = [...stream].map((byte) => Uint8Array.of(byte));
        expect(messages(feed(decoder, chunks))).toEqual(bodies.map(expected));
      }),
      { numRuns: 30 },
    );
  });

  it('[WIRE-4] never loses a valid message that follows a newline, whatever garbage or oversized lines come before', () => {
    const item = fc.oneof(wireBodyArb.map((body) => ({ body })), garbageArb.map((garbage) => ({ garbage })));
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (items, cuts) => {
        const parts = items.map((i) => ('body' in i ? encodeMessage(i.body) : i.garbage));
        const decoder = new WireDecoder(MESSAGE_TYPES);
        const results = feed(decoder, splitAt(Buffer.concat(parts), cuts));
        const bodies = items.flatMap((i) => ('body' in i ? [i.body] : []));
        expect(messages(results)).toEqual(bodies.map(expected));
        for (const result of results) {
          if (!result.ok) expect(result.code).toMatch(/^PROTO_ERR_/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('[WIRE-2] never throws and keeps the carry within 1056 bytes on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }), (chunks) => {
        const decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
        expect(() => feed(decoder, chunks)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});

describe('WireDecoder: examples', () => {
  it('decodes the whole reference transcript sent as one chunk', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    const stream = CLEAN_TRANSCRIPT.map((line) => `\n${line.json}\n`).join('');
    const results = decoder.push(bytes(stream));
    expect(results).toHaveLength(CLEAN_TRANSCRIPT.length);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('[WIRE-3] reassembles a challenge sent as its first 20 bytes and then the rest (the original dropped reads < 32 bytes: daemons §1.4)', () => {
    const line = '\n{"version":3,"revision":1,"msg_type":"challenge","sequence":20,"heartbeat_challenge":694929532}\n';
    const decoder = new WireDecoder(MESSAGE_TYPES);
    expect(decoder.push(bytes(line.slice(0, 20)))).toEqual([]);
    expect(decoder.carryBytes).toBe(19);
    const [result] = decoder.push(bytes(line.slice(20)));
    expect(result?.ok && result.message.msg_type).toBe('challenge');
  });

  it('keeps a partial line across any number of pushes (persistent carry, unlike the original batch tokenizer)', () => {
    const line = encodeMessage({ msg_type: 'init_ack', sequence: 1, invocation_id: 7 });
    const decoder = new WireDecoder(MESSAGE_TYPES);
    for (let i = 0; i < line.length - 1; i += 1) expect(decoder.push(line.subarray(i, i + 1))).toEqual([]);
    expect(decoder.push(line.subarray(-1))).toHaveLength(1);
  });

  it('accepts a message without the leading newline and with spaces after ":" (client §3)', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    const [result] = decoder.push(bytes('{"version": 3, "revision": 1, "msg_type": "challenge", "sequence": 22, "heartbeat_challenge": 1984731982}\n'));
    expect(result?.ok).toBe(true);
  });

  it('accepts CRLF line ends and skips blank lines', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    const results = decoder.push(bytes('\r\n\n  \n{"version":3,"revision":1,"msg_type":"exit","sequence":1,"log_msg":""}\r\n'));
    expect(results).toHaveLength(1);
    expect(results[0]?.ok).toBe(true);
  });

  it('[WIRE-2] accepts a line of exactly 1056 bytes and discards one of 1057 (daemons §1.4)', () => {
    const base = '{"version":3,"revision":1,"msg_type":"exit","sequence":1,"log_msg":""}';
    const fit = `${base.slice(0, -2)}${'x'.repeat(MAX_MESSAGE_BYTES - base.length)}"}`;
    expect(Buffer.byteLength(fit)).toBe(MAX_MESSAGE_BYTES);
    const decoder = new WireDecoder(MESSAGE_TYPES);
    const [ok] = decoder.push(bytes(`\n${fit}\n`));
    expect(ok?.ok).toBe(true);
    const over = `${base.slice(0, -2)}${'x'.repeat(MAX_MESSAGE_BYTES - base.length + 1)}"}`;
    const results = decoder.push(bytes(`\n${over}\n`));
    expect(results).toEqual([{ ok: false, code: 'PROTO_ERR_LINE_TOO_LONG', reason: 'line of 1057 bytes discarded', nack: undefined }]);
  });

  it('[WIRE-2] discards an over-long line spread over many chunks up to its newline, then decodes what follows', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    for (let i = 0; i < 10; i += 1) {
      expect(decoder.push(new Uint8Array(1000).fill(0x61))).toEqual([]);
      expect(decoder.carryBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
    const results = decoder.push(encodeMessage({ msg_type: 'init_ack', sequence: 3, invocation_id: 9 }));
    expect(results.map((r) => (r.ok ? r.message.msg_type : r.code))).toEqual(['PROTO_ERR_LINE_TOO_LONG', 'init_ack']);
    expect(results[0]).toMatchObject({ reason: 'line of 10000 bytes discarded' });
  });

  it('yields a reasoned error per garbage line and nacks none of them', () => {
    const decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
    const results = decoder.push(bytes('garbage\n{"version":3,\n'));
    expect(results).toEqual([
      { ok: false, code: 'PROTO_ERR_BAD_JSON', reason: 'not JSON', nack: undefined },
      { ok: false, code: 'PROTO_ERR_BAD_JSON', reason: 'not JSON', nack: undefined },
    ]);
  });

  it('yields unsupported-type failures with their nack on a host', () => {
    const decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
    const [result] = decoder.push(encodeMessage({ msg_type: 'nack', sequence: 1, invocation_id: 1, log_msg: 'x' }));
    expect(result).toMatchObject({ ok: false, code: 'PROTO_ERR_UNSUPPORTED_TYPE', nack: 'unsupported message type: nack' });
  });

  it('forgets a partial line on reset (after a disconnect)', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    decoder.push(bytes('{"version":3,"revision":1,'));
    expect(decoder.carryBytes).toBeGreaterThan(0);
    decoder.reset();
    expect(decoder.carryBytes).toBe(0);
    expect(decoder.push(bytes('"msg_type":"exit","sequence":1,"log_msg":""}\n'))[0]).toMatchObject({ ok: false, code: 'PROTO_ERR_BAD_JSON' });
  });

  it('forgets an over-long line being discarded on reset', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    decoder.push(new Uint8Array(2000).fill(0x62));
    decoder.reset();
    const results = decoder.push(bytes('{"version":3,"revision":1,"msg_type":"exit","sequence":1,"log_msg":""}\n'));
    expect(results.map((r) => r.ok)).toEqual([true]);
  });

  it('takes a smaller line limit when given one', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES, 16);
    expect(decoder.push(bytes('0123456789abcdefXYZ'))).toEqual([]);
    expect(decoder.carryBytes).toBe(0);
    expect(decoder.push(bytes('\n'))).toMatchObject([{ ok: false, code: 'PROTO_ERR_LINE_TOO_LONG' }]);
  });
});

describe('LineFramer', () => {
  it('splits lines and reports the length of a dropped one', () => {
    const framer = new LineFramer(8);
    expect(framer.maxLineBytes).toBe(8);
    expect(framer.push(bytes('abc\n123456789\nxy'))).toEqual([
      { kind: 'line', text: 'abc' },
      { kind: 'too-long', droppedBytes: 9 },
    ]);
    expect(framer.carryBytes).toBe(2);
    expect(framer.push(bytes('z\n'))).toEqual([{ kind: 'line', text: 'xyz' }]);
  });

  it('drops a line whose carry plus tail exceeds the limit at the newline', () => {
    const framer = new LineFramer(8);
    expect(framer.push(bytes('12345'))).toEqual([]);
    expect(framer.push(bytes('6789\n'))).toEqual([{ kind: 'too-long', droppedBytes: 9 }]);
    expect(framer.carryBytes).toBe(0);
  });

  it('defaults to 1056 bytes', () => {
    expect(new LineFramer().maxLineBytes).toBe(MAX_MESSAGE_BYTES);
  });

  it('decodes a UTF-8 character split between two chunks', () => {
    const framer = new LineFramer();
    const line = Buffer.from('é€😀\n');
    expect(framer.push(line.subarray(0, 1))).toEqual([]);
    expect(framer.push(line.subarray(1, 4))).toEqual([]);
    expect(framer.push(line.subarray(4))).toEqual([{ kind: 'line', text: 'é€😀' }]);
  });
});

describe('deliberate differences (README)', () => {
  it('discards a line holding two objects whole (the original server took the first: daemons §1.4)', () => {
    const decoder = new WireDecoder(MESSAGE_TYPES);
    const one = '{"version":3,"revision":1,"msg_type":"exit","sequence":1,"log_msg":""}';
    expect(decoder.push(bytes(`${one}${one}\n${one}\n`)).map((r) => (r.ok ? r.message.msg_type : r.code))).toEqual(['PROTO_ERR_BAD_JSON', 'exit']);
  });
});
