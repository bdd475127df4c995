/** The per-heartbeat metrics (issue 17) expose what prom-client's own Histogram and Counter would. */
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HeartbeatCounter, HeartbeatHistogram } from '../src/heartbeat-metrics.js';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

describe('HeartbeatHistogram and HeartbeatCounter', () => {
  it('give the same exposition text as prom-client for any observations', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(...BUCKETS)), { maxLength: 200 }), async (values) => {
      const ours = new Registry();
      const theirs = new Registry();
      const h = new HeartbeatHistogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registers: [ours] });
      const c = new HeartbeatCounter('x_total', 'c', [ours]);
      const ph = new Histogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
      const pc = new Counter({ name: 'x_total', help: 'c', registers: [theirs] });
      for (const v of values) {
        h.observe(v);
        ph.observe(v);
        c.inc();
        pc.inc();
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
    }), { numRuns: 200 });
  });

  it('a counter keeps its total across scrapes; reset() empties the histogram', async () => {
    const r = new Registry();
    const c = new HeartbeatCounter('y_total', 'c', [r]);
    const h = new HeartbeatHistogram({ name: 'y_seconds', help: 'h', buckets: [1], registers: [r] });
    c.inc(2);
    h.observe(0.5);
    expect(await r.metrics()).toContain('y_total 2\n');
    c.inc();
    expect(await r.metrics()).toContain('y_total 3\n');
    expect(await r.metrics()).toContain('y_seconds_bucket{le="1"} 1\n');
    r.resetMetrics();
    expect(await r.metrics()).toContain('y_seconds_count 0\n');
  });
});
