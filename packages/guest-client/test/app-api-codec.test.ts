/** The 228-byte management API codec (client §8): exact offsets, round trips, the streaming decoder. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APP_MAX_CARRY_BYTES, APP_MESSAGE_BYTES, AppMessageDecoder, DAEMON_TO_APP_KINDS, encodeAppMessage, type AppMessage,
} from '../src/index.js';

/** A header written byte by byte, independent of the encoder. */
function header(msgType: number, sequence: number, opts: { version?: number; size?: number } = {}): Buffer {
  const b = Buffer.alloc(APP_MESSAGE_BYTES);
  b.write('FDFDA5A5', 0, 'latin1');
  b[8] = opts.version ?? 2;
  b[9] = 1;
  b.writeUInt16LE(msgType, 10);
  b.writeUInt32LE(sequence, 12);
  b.writeUInt32LE(opts.size ?? 228, 16);
  return b;
}

const LOG = 'x'.repeat(191);

/** [message, hand-built bytes] per msg_type, with the offsets derived in app-api-codec.ts. */
const CASES: readonly (readonly [AppMessage, Buffer])[] = [
  [
    { type: 'init', sequence: 7, applicationName: 'sample-guest-app', heartbeatIntervalMs: 1000, voteSecs: 8, shutdownNoticeSecs: 5, suspendNoticeSecs: 6, resumeNoticeSecs: 9, correctiveAction: 'reboot' },
    (() => {
      const b = header(0, 7);
      b.write('sample-guest-app', 20, 'latin1');
      b.writeUInt32LE(1000, 60); b.writeUInt32LE(8, 64); b.writeUInt32LE(5, 68); b.writeUInt32LE(6, 72); b.writeUInt32LE(9, 76);
      b.writeUInt32LE(2, 80);
      return b;
    })(),
  ],
  [{ type: 'init_ack', sequence: 1, accepted: true }, (() => { const b = header(1, 1); b.writeUInt32LE(1, 20); return b; })()],
  [{ type: 'final', sequence: 2, logMsg: 'bye' }, (() => { const b = header(2, 2); b.write('bye', 20); return b; })()],
  [{ type: 'challenge', sequence: 3, heartbeatChallenge: 0xfedcba98 }, (() => { const b = header(3, 3); b.writeUInt32LE(0xfedcba98, 20); return b; })()],
  [
    { type: 'challenge_response', sequence: 4, heartbeatResponse: 42, health: 'unhealthy', correctiveAction: 'stop', logMsg: LOG },
    (() => { const b = header(4, 4); b.writeUInt32LE(42, 20); b.writeUInt32LE(0, 24); b.writeUInt32LE(3, 28); b.write(LOG, 32); return b; })(),
  ],
  [
    { type: 'action_notify', sequence: 5, invocationId: 1804289383, eventType: 'live_migrate_begin', notificationType: 'revocable' },
    (() => { const b = header(5, 5); b.writeUInt32LE(1804289383, 20); b.writeUInt32LE(9, 24); b.writeUInt32LE(1, 28); return b; })(),
  ],
  [
    { type: 'action_response', sequence: 6, invocationId: 99, eventType: 'cold_migrate_end', notificationType: 'irrevocable', voteResult: 'reject', logMsg: LOG },
    (() => { const b = header(6, 6); b.writeUInt32LE(99, 20); b.writeUInt32LE(12, 24); b.writeUInt32LE(2, 28); b.writeUInt32LE(2, 32); b.write(LOG, 36); return b; })(),
  ],
];

describe('encodeAppMessage / decoding: exact layout', () => {
  it.each(CASES.map(([m, b]) => [m.type, m, b] as const))('%s is byte-exact at the C offsets and round-trips', (_type, message, bytes) => {
    const encoded = encodeAppMessage(message);
    expect(encoded.length).toBe(228);
    expect(encoded.equals(bytes)).toBe(true);
    const [result] = new AppMessageDecoder().push(bytes);
    expect(result).toEqual({ ok: true, message });
  });

  it('the longest body (ACTION_RESPONSE) ends exactly at byte 228 and a full log keeps its NUL', () => {
    const b = encodeAppMessage({ type: 'action_response', invocationId: 1, eventType: 'stop', notificationType: 'revocable', voteResult: 'accept', logMsg: 'y'.repeat(500) });
    expect(b.subarray(36, 227).toString()).toBe('y'.repeat(191));
    expect(b[227]).toBe(0);
  });

  it('cuts over-long strings to size − 1 bytes, never splitting a UTF-8 character, never overflowing', () => {
    const name = 'é'.repeat(30);                                        // 60 bytes
    const b = encodeAppMessage({ type: 'init', applicationName: name, heartbeatIntervalMs: 1000, voteSecs: 1, shutdownNoticeSecs: 1, suspendNoticeSecs: 1, resumeNoticeSecs: 1, correctiveAction: 'log' });
    expect(b.subarray(20, 60).indexOf(0)).toBe(38);                     // 19 × 2 bytes, then NUL padding
    expect(b.readUInt32LE(60)).toBe(1000);                               // the next field is intact
    const [r] = new AppMessageDecoder().push(b);
    expect(r?.ok === true && r.message.type === 'init' && r.message.applicationName).toBe('é'.repeat(19));
  });

  it('reads out-of-range enumerations as unknown and any health other than 1 as unhealthy', () => {
    const b = header(4, 0);
    b.writeUInt32LE(5, 20); b.writeUInt32LE(7, 24); b.writeUInt32LE(77, 28);
    const [r] = new AppMessageDecoder().push(b);
    expect(r).toMatchObject({ ok: true, message: { heartbeatResponse: 5, health: 'unhealthy', correctiveAction: 'unknown', logMsg: '' } });
  });
});

describe('AppMessageDecoder', () => {
  const challenge = (n: number): Buffer => encodeAppMessage({ type: 'challenge', heartbeatChallenge: n });
  const values = (results: ReturnType<AppMessageDecoder['push']>): number[] =>
    results.flatMap((r) => (r.ok && r.message.type === 'challenge' ? [r.message.heartbeatChallenge] : []));

  it('resynchronises on garbage before, between and after messages, and reports it', () => {
    const d = new AppMessageDecoder();
    const results = d.push(Buffer.concat([Buffer.from('junk'), challenge(1), Buffer.from('FDFD--more junk'), challenge(2), Buffer.from('tail')]));
    expect(values(results)).toEqual([1, 2]);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(['garbage', 'garbage', 'garbage']);
    expect(d.carryBytes).toBe(0);
  });

  it('reassembles messages split byte by byte and decodes batched ones', () => {
    const d = new AppMessageDecoder();
    const stream = Buffer.concat([challenge(10), challenge(11), challenge(12)]);
    const got: number[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...values(d.push(stream.subarray(i, i + 1))));
    expect(got).toEqual([10, 11, 12]);
    expect(values(new AppMessageDecoder().push(stream))).toEqual([10, 11, 12]);
  });

  it('keeps a magic split across reads', () => {
    const d = new AppMessageDecoder();
    const m = challenge(5);
    expect(d.push(Buffer.concat([Buffer.from('zz'), m.subarray(0, 5)]))).toMatchObject([{ ok: false, reason: 'garbage' }]);
    expect(d.carryBytes).toBe(5);
    expect(values(d.push(m.subarray(5)))).toEqual([5]);
  });

  it('skips a header with another version by 8 bytes, and rejects a bad size or msg_type with a reason', () => {
    const d = new AppMessageDecoder();
    const results = d.push(Buffer.concat([header(3, 0, { version: 1 }), header(3, 0, { size: 100 }), header(9, 0), challenge(3)]));
    const reasons = results.filter((r) => !r.ok).map((r) => !r.ok && r.reason);
    expect(reasons.slice(0, 1)).toEqual(['bad-version']);
    expect(reasons).toContain('bad-size');
    expect(reasons).toContain('bad-msg-type');
    expect(values(results)).toEqual([3]);
  });

  it('refuses a type not sent in its direction', () => {
    const d = new AppMessageDecoder(DAEMON_TO_APP_KINDS);
    expect(d.push(encodeAppMessage({ type: 'final', logMsg: '' }))).toMatchObject([{ ok: false, reason: 'unexpected-msg-type' }]);
  });

  it('property: never throws, carries at most 227 bytes, and finds every message however the stream is cut', () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => ({ bytes: Buffer.from(a), value: undefined as number | undefined })),
      fc.nat().map((n) => ({ bytes: challenge(n), value: n as number | undefined })),
      fc.constant({ bytes: Buffer.from('FDFDA5A5'), value: undefined as number | undefined }),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }), (pieces, cuts) => {
      const d = new AppMessageDecoder();
      const stream = Buffer.concat(pieces.map((p) => p.bytes));
      let at = 0;
      let i = 0;
      while (at < stream.length) {
        const n = cuts[i++ % cuts.length] ?? 1;
        d.push(stream.subarray(at, at + n));
        at += n;
        expect(d.carryBytes).toBeLessThanOrEqual(APP_MAX_CARRY_BYTES);
      }
    }), { numRuns: 300 });
    // Messages separated by magic-free garbage always come through, whatever the cuts.
    const cleanPiece = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((a) => ({ bytes: Buffer.from(a.map((x) => x & 0x3f)), value: undefined as number | undefined })),
      fc.nat().map((n) => ({ bytes: challenge(n), value: n as number | undefined })),
    );
    fc.assert(fc.property(fc.array(cleanPiece, { maxLength: 10 }), fc.integer({ min: 1, max: 500 }), (pieces, cut) => {
      const d = new AppMessageDecoder();
      const stream = Buffer.concat(pieces.map((p) => p.bytes));
      const got: number[] = [];
      for (let at = 0; at < stream.length; at += cut) got.push(...values(d.push(stream.subarray(at, at + cut))));
      expect(got).toEqual(pieces.flatMap((p) => (p.value === undefined ? [] : [p.value])));
    }), { numRuns: 300 });
  });
});
