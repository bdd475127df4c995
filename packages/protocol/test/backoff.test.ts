/** Reconnect backoff as pure policy (STYLE.md R8; daemons §1.3: 1, 2, 4 … 32, 60, 60 s). */
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, CONNECT_BACKOFF_FIRST_MS, CONNECT_BACKOFF_MAX_MS } from '../src/index.js';

const ORIGINAL = { baseMs: CONNECT_BACKOFF_FIRST_MS, maxMs: CONNECT_BACKOFF_MAX_MS };

describe('backoffDelayMs', () => {
  it('doubles from 1 s and caps at 60 s like the original connect FSM', () => {
    const delays = Array.from({ length: 9 }, (_, i) => backoffDelayMs(ORIGINAL, i + 1) / 1000);
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('treats attempt 0 or below as the first, and huge attempts as the cap', () => {
    expect(backoffDelayMs(ORIGINAL, 0)).toBe(1000);
    expect(backoffDelayMs(ORIGINAL, -3)).toBe(1000);
    expect(backoffDelayMs(ORIGINAL, 10_000)).toBe(60_000);
  });

  it('spreads the delay by the jitter fraction around the exact value', () => {
    const policy = { ...ORIGINAL, jitter: 0.5 };
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(3000);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(policy, 3, () => 0.999999)).toBe(5000);
    expect(backoffDelayMs(policy, 3)).toBe(4000);
  });

  it('never returns a negative delay', () => {
    expect(backoffDelayMs({ baseMs: 10, maxMs: 100, jitter: 4 }, 1, () => 0)).toBe(0);
  });

  it('ignores a zero or negative jitter', () => {
    expect(backoffDelayMs({ ...ORIGINAL, jitter: 0 }, 2, () => 0)).toBe(2000);
    expect(backoffDelayMs({ ...ORIGINAL, jitter: -1 }, 2, () => 0)).toBe(2000);
  });
});
