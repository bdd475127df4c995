/**
 * readChallengeResponseBytes (issue 17 item 4) reads a challenge_response from its line bytes; whenever it
 * says it did, parseMessage of the same line must give the same message, and it must take what guests send.
 * The framer's zero-allocation cursor (begin/next) must frame exactly what push() frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChallengeResponseFields, CORRECTIVE_ACTIONS, FRAME, GUEST_TO_HOST_TYPES, LineFramer, encodeMessage, parseMessage,
  readChallengeResponseBytes,
} from '../src/index.js';

const KEYS = ['version', 'revision', 'msg_type', 'sequence', 'heartbeat_response', 'heartbeat_health', 'corrective_action', 'log_msg'] as const;

/** What parseMessage makes of the trimmed line, and what the byte reader makes of it. */
function both(line: Uint8Array): { slow: ReturnType<typeof parseMessage>; fast: ChallengeResponseFields | undefined } {
  const framer = new LineFramer(1_000_000);
  framer.begin(Buffer.concat([Buffer.from(line), Buffer.from('\n')]));
  const kind = framer.next();
  const text = kind === FRAME.bytes || kind === FRAME.text ? framer.lineText() : '';
  const out = new ChallengeResponseFields();
  const fast = kind === FRAME.bytes && readChallengeResponseBytes(framer.lineBytes, framer.lineStart, framer.lineEnd, out) ? out : undefined;
  return { slow: parseMessage(text, GUEST_TO_HOST_TYPES), fast };
}

function agree(line: Uint8Array): boolean {
  const { slow, fast } = both(line);
  if (fast === undefined) return false;
  expect(slow.ok).toBe(true);
  if (slow.ok) {
    expect(fast.toMessage()).toStrictEqual(slow.message);
    expect(Object.keys(fast.toMessage())).toEqual(Object.keys(slow.message));
  }
  return true;
}

const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 260 });
const int = fc.oneof(
  fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }),
  fc.constantFrom(0, 1, 2, 3, 4, -1, 2_147_483_647, 2_147_483_648, -2_147_483_648, -2_147_483_649, 999_999_999_999_999, 1e15, -0),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: int },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 1.5, '3', [], {}) },
  { weight: 3, arbitrary: fc.constantFrom('healthy', 'unhealthy', 'Healthy', '', 'challenge_response', 'challenge', ...CORRECTIVE_ACTIONS, 'x'.repeat(32), 'x'.repeat(33)) },
  { weight: 2, arbitrary: ascii },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
/** JSON whitespace inside a line (a newline would end it). */
const ws = fc.constantFrom('', '', '', ' ', '\t', ' \r', '  ');

/** A near-valid response object written with arbitrary key order, whitespace, extra or repeated keys. */
const responseLine: fc.Arbitrary<string> = fc.record({
  values: fc.tuple(...KEYS.map((k) => fc.oneof(
    { weight: 40, arbitrary: fc.constant<unknown>(({ version: 3, revision: 1, msg_type: 'challenge_response', sequence: 7, heartbeat_response: 42, heartbeat_health: 'healthy', corrective_action: 'none', log_msg: '' } as Record<string, unknown>)[k]) },
    { weight: 3, arbitrary: value },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ))),
  order: fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 8, maxLength: 8 }),
  extra: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('extra', 'version', 'log_msg', '__proto__', 'msg_type'), value, fc.nat({ max: 8 })) },
  ),
  gaps: fc.array(ws, { minLength: 40, maxLength: 40 }),
}).map(({ values, order, extra, gaps }) => {
  const parts: string[] = [];
  for (const i of order) {
    const v = values[i];
    if (v !== undefined) parts.push(`${JSON.stringify(KEYS[i])}${gaps[i] ?? ''}:${gaps[i + 8] ?? ''}${JSON.stringify(v) ?? 'null'}`);
  }
  if (extra !== null) parts.splice(Math.min(extra[2], parts.length), 0, `${JSON.stringify(extra[0])}:${JSON.stringify(extra[1]) ?? 'null'}`);
  return `${gaps[30] ?? ''}{${gaps[31] ?? ''}${parts.join(`${gaps[32] ?? ''},${gaps[33] ?? ''}`)}${gaps[34] ?? ''}}${gaps[35] ?? ''}`;
});

describe('readChallengeResponseBytes ≡ parseMessage', () => {
  it('on near-valid responses in any key order, spacing, extra and repeated keys (whenever it reads one, the same message)', () => {
    let read = 0;
    fc.assert(fc.property(responseLine, (line) => {
      if (agree(Buffer.from(line))) read++;
    }), { numRuns: 10_000 });
    expect(read).toBeGreaterThan(1_000);   // the fast path is taken, not just skipped
  });

  it('on arbitrary bytes', () => {
    const bytes = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7b, 0x7d, 0x22, 0x3a, 0x2c, 0x30, 0x31, 0x2d, 0x5c, 0x20)), { maxLength: 200 });
    fc.assert(fc.property(bytes, (list) => {
      agree(Uint8Array.from(list));
    }), { numRuns: 5_000 });
  });

  it('reads every response the encoder writes with ASCII text (what guests send)', () => {
    const body = fc.record({
      sequence: fc.integer({ min: 0, max: 2_147_483_647 }),
      heartbeat_response: fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
      heartbeat_health: fc.constantFrom('healthy' as const, 'unhealthy' as const),
      corrective_action: fc.constantFrom(...CORRECTIVE_ACTIONS),
      log_msg: ascii.filter((s) => !s.includes('\\') && !s.includes('"')),
    });
    fc.assert(fc.property(body, (b) => {
      expect(agree(encodeMessage({ msg_type: 'challenge_response', ...b }))).toBe(true);
    }), { numRuns: 3_000 });
  });

  it('leaves escapes, fractions, exponents, -0, old versions and other types to parseMessage', () => {
    const base = '{"version":3,"revision":1,"msg_type":"challenge_response","sequence":1,"heartbeat_response":5,"heartbeat_health":"healthy","corrective_action":"none","log_msg":""}';
    expect(agree(Buffer.from(base))).toBe(true);
    for (const odd of [
      base.replace('"log_msg":""', '"log_msg":"a\\nb"'), base.replace(':5,', ':5.0,'), base.replace(':5,', ':5e0,'), base.replace(':5,', ':-0,'),
      base.replace('"version":3', '"version":2'), base.replace('challenge_response', 'init'), base.replace(':5,', ':05,'),
      base.replace('"sequence":1,', ''), `${base}x`, base.replace('"none"', '"nöne"'),
    ]) {
      expect(agree(Buffer.from(odd))).toBe(false);
    }
  });
});

describe('LineFramer.begin/next ≡ push', () => {
  const bytes = fc.array(fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x0a, 0x0a, 0x0d, 0x20, 0x09, 0x0b, 0xef, 0xbb, 0xbf, 0xc2, 0xa0, 0xc3, 0xa9, 0x61, 0x7b),
  ), { maxLength: 300 });
  it('gives the same lines, too-long notices and carry for any bytes cut anywhere', () => {
    fc.assert(fc.property(bytes, fc.array(fc.nat({ max: 300 }), { maxLength: 4 }), fc.boolean(), (list, cuts, asBuffer) => {
      const data = Uint8Array.from(list);
      const points = [0, ...cuts.map((c) => Math.min(c, data.length)).sort((a, b) => a - b), data.length];
      const viaPush = new LineFramer(64);
      const viaNext = new LineFramer(64);
      for (let i = 0; i + 1 < points.length; i++) {
        const piece = data.slice(points[i], points[i + 1]);
        const chunk = asBuffer ? Buffer.from(piece) : piece;
        const expected = viaPush.push(chunk);
        const got: unknown[] = [];
        viaNext.begin(chunk);
        for (let k = viaNext.next(); k !== FRAME.done; k = viaNext.next()) {
          got.push(k === FRAME.tooLong ? { kind: 'too-long', droppedBytes: viaNext.droppedBytes } : { kind: 'line', text: viaNext.lineText() });
        }
        expect(got).toEqual(expected);
        expect(viaNext.carryBytes).toBe(viaPush.carryBytes);
      }
    }), { numRuns: 3_000 });
  });
});
