/** The preencoded challenge frame (issue 17) is byte-identical to encodeMessage for every sequence and value. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INT32_MAX, encodeChallenge, encodeMessage } from '../src/index.js';

const reference = (sequence: number, value: number): Buffer => encodeMessage({ msg_type: 'challenge', sequence, heartbeat_challenge: value });

describe('encodeChallenge', () => {
  it('equals encodeMessage at the edges of int32 and of each digit count', () => {
    const edges = [0, 1, 9, 10, 99, 100, 999_999_999, 1_000_000_000, INT32_MAX];
    for (const sequence of edges) {
      for (const value of edges) expect(encodeChallenge(sequence, value).equals(reference(sequence, value))).toBe(true);
    }
  });

  it('equals encodeMessage for any int32 sequence and challenge', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: INT32_MAX }), fc.integer({ min: 0, max: INT32_MAX }), (sequence, value) => {
      expect(encodeChallenge(sequence, value).equals(reference(sequence, value))).toBe(true);
    }), { numRuns: 2_000 });
  });

  it('a negative value (never sent by the server) still encodes as encodeMessage does', () => {
    expect(encodeChallenge(3, -5).equals(reference(3, -5))).toBe(true);
  });

  it('each frame is a buffer of its own: a later frame does not change an earlier one still queued', () => {
    const first = encodeChallenge(1, 111);
    const copy = Buffer.from(first);
    encodeChallenge(2, 222);
    expect(first.equals(copy)).toBe(true);
  });
});
