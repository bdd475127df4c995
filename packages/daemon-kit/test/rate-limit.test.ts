/** Token bucket and log limiter (issue 11 item 4): pure, driven by plain millisecond values. */
import { describe, expect, it } from 'vitest';
import { LogRateLimiter, TokenBucket } from '../src/rate-limit.js';

describe('TokenBucket', () => {
  it('allows the burst, then the sustained rate', () => {
    const b = new TokenBucket(3, 2);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.msUntil(0)).toBe(500);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.available(10_000)).toBe(3);   // never above capacity
  });

  it('charge runs into debt (bounded by the capacity) that the refill repays', () => {
    const b = new TokenBucket(10, 10);
    expect(b.charge(0, 8)).toBe(true);
    expect(b.charge(0, 8)).toBe(true);     // was positive before this charge
    expect(b.charge(0, 100)).toBe(false);  // now in debt
    expect(b.available(0)).toBe(-10);
    expect(b.msUntil(0, 1)).toBe(1100);
  });
});

describe('LogRateLimiter', () => {
  it('writes the burst, then suppresses, then one summary per period with the count', () => {
    const l = new LogRateLimiter({ burst: 2, perMinute: 0, summaryPeriodMs: 60_000 });
    const decisions = Array.from({ length: 5 }, (_, i) => l.check(i));
    expect(decisions.map((d) => d.write)).toEqual([true, true, false, false, false]);
    expect(decisions.every((d) => d.summarize === 0)).toBe(true);
    expect(l.check(30_000)).toEqual({ write: false, summarize: 0 });
    expect(l.check(60_002)).toEqual({ write: false, summarize: 4 });   // 3 + the one at 30 s; this one starts a new period
    expect(l.flush()).toBe(1);
    expect(l.flush()).toBe(0);
  });

  it('the sustained rate refills: 6 per minute is one line every 10 s', () => {
    const l = new LogRateLimiter({ burst: 1, perMinute: 6, summaryPeriodMs: 60_000 });
    expect(l.check(0).write).toBe(true);
    expect(l.check(5_000).write).toBe(false);
    expect(l.check(10_000).write).toBe(true);
  });
});
