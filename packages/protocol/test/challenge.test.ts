/** The challenge contract (daemons §1.8, client §5): a random int in 0..2^31−1, echoed; no arithmetic. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drawChallenge, isValidResponse, MAX_CHALLENGE } from '../src/index.js';

describe('[CHAL-1] drawChallenge', () => {
  it('maps the injected random source onto 0..2^31−1', () => {
    expect(drawChallenge(() => 0)).toBe(0);
    expect(drawChallenge(() => 0.5)).toBe(2 ** 30);
    expect(drawChallenge(() => 1 - Number.EPSILON)).toBe(MAX_CHALLENGE);
  });

  it('stays in range even when the source breaks its contract', () => {
    expect(drawChallenge(() => 1)).toBe(MAX_CHALLENGE);
    expect(drawChallenge(() => 7)).toBe(MAX_CHALLENGE);
    expect(drawChallenge(() => -0.5)).toBe(0);
  });

  it('is always an integer within int32 for any value in [0, 1)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const value = drawChallenge(() => r);
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(MAX_CHALLENGE);
      }),
    );
  });

  it('draws from the source on every call (a fresh value per challenge)', () => {
    const values = [0.1, 0.2, 0.3];
    const drawn = values.map((v) => drawChallenge(() => v));
    expect(new Set(drawn).size).toBe(3);
  });
});

describe('[CHAL-2] isValidResponse', () => {
  it('accepts only the echo of the last challenge', () => {
    expect(isValidResponse(1164506840, 1164506840)).toBe(true);
    expect(isValidResponse(1164506840, 1164506841)).toBe(false);
    expect(isValidResponse(0, 0)).toBe(true);
  });

  it('accepts nothing before any challenge was sent', () => {
    expect(isValidResponse(undefined, 0)).toBe(false);
  });

  it('rejects the previous challenge once a new one went out', () => {
    let last: number | undefined;
    const sent = [11, 22];
    for (const challenge of sent) last = challenge;
    expect(isValidResponse(last, 11)).toBe(false);
    expect(isValidResponse(last, 22)).toBe(true);
  });
});
