/** The queue rules of outbox-queue.ts, one by one (pure: no clock, no I/O). */
import { describe, expect, it } from 'vitest';
import { OutboxQueue, isEvictable, type OutboxItem, type Priority } from '../src/outbox-queue.js';

let n = 0;
function item(lane: string, priority: Priority, extra: Partial<OutboxItem<string>> = {}): OutboxItem<string> {
  const id = extra.id ?? `e${++n}`;
  return { id, lane, priority, payload: id, ...extra };
}
const noDelay = (): number => 0;
const ids = (entries: readonly { id: string }[]): string[] => entries.map((e) => e.id);

describe('OutboxQueue', () => {
  it('keeps FIFO order per lane and sends a lane prefix in one batch', () => {
    const q = new OutboxQueue<string>(100);
    q.push(item('a', 'service', { id: 'a1' }), 0);
    q.push(item('a', 'alarm', { id: 'a2' }), 0);
    q.push(item('a', 'service', { id: 'a3' }), 0);
    expect(ids(q.selectBatch(0, 10))).toEqual(['a1', 'a2', 'a3']);
  });

  it('serves the lane holding the best priority first, then the oldest head', () => {
    const q = new OutboxQueue<string>(100);
    q.push(item('svc', 'service', { id: 's1' }), 0);
    q.push(item('ctl', 'control', { id: 'c1' }), 0);
    q.push(item('vote', 'vote-result', { id: 'v1' }), 0);
    q.push(item('loss', 'service', { id: 'l0' }), 0);
    q.push(item('loss', 'alarm', { id: 'l1' }), 0);
    q.push(item('svc2', 'service', { id: 's2' }), 0);
    // The alarm's lane goes first with the service entry in front of it (lane order holds).
    expect(ids(q.selectBatch(0, 10))).toEqual(['l0', 'l1', 'v1', 'c1', 's1', 's2']);
  });

  it('sends nothing more from a lane while it has entries in flight', () => {
    const q = new OutboxQueue<string>(100);
    q.push(item('a', 'service', { id: 'a1' }), 0);
    expect(ids(q.selectBatch(0, 10))).toEqual(['a1']);
    q.push(item('a', 'alarm', { id: 'a2' }), 0);
    q.push(item('b', 'service', { id: 'b1' }), 0);
    expect(ids(q.selectBatch(0, 10))).toEqual(['b1']);
  });

  it('respects the batch size', () => {
    const q = new OutboxQueue<string>(100);
    for (let i = 0; i < 5; i++) q.push(item(`l${i}`, 'service', { id: `x${i}` }), 0);
    expect(ids(q.selectBatch(0, 2))).toEqual(['x0', 'x1']);
    expect(ids(q.selectBatch(0, 2))).toEqual(['x2', 'x3']);
  });

  it('ignores a second push of a known id', () => {
    const q = new OutboxQueue<string>(100);
    q.push(item('a', 'alarm', { id: 'same' }), 0);
    expect(q.push(item('a', 'alarm', { id: 'same' }), 0)).toEqual({ result: 'duplicate' });
    expect(q.size).toBe(1);
  });

  describe('coalescing', () => {
    it('a newer entry with the same key replaces the older one and goes to the tail of its lane', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('i', 'service', { id: 'run', coalesceKey: 'svc:i' }), 0);
      q.push(item('i', 'alarm', { id: 'loss' }), 0);
      const out = q.push(item('i', 'service', { id: 'stop', coalesceKey: 'svc:i' }), 0);
      expect(out.result === 'queued' && out.replaced?.id).toBe('run');
      expect(ids(q.entries())).toEqual(['loss', 'stop']);
    });

    it('never replaces an entry in flight', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('i', 'service', { id: 'run', coalesceKey: 'svc:i' }), 0);
      q.selectBatch(0, 10);
      const out = q.push(item('i', 'service', { id: 'stop', coalesceKey: 'svc:i' }), 0);
      expect(out.result === 'queued' && out.replaced).toBeUndefined();
      expect(q.size).toBe(2);
    });

    it('an entry in flight that fails after a newer one with its key arrived is removed (superseded)', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('i', 'service', { id: 'run', coalesceKey: 'svc:i' }), 0);
      const batch = q.selectBatch(0, 10);
      q.push(item('i', 'service', { id: 'stop', coalesceKey: 'svc:i' }), 0);
      const out = q.settle(batch, undefined, 0, () => 100);
      expect(ids(out.superseded)).toEqual(['run']);
      expect(out.failed).toEqual([]);
      expect(ids(q.entries())).toEqual(['stop']);
      expect(q.consecutiveFailures).toBe(1);
    });

    it('an entry in flight whose newer successor was evicted meanwhile stays queued and holds its key again', () => {
      // Found by the property test (seed 1885590624 family): the failed one was removed as "superseded" by
      // a successor that no longer existed, so neither fact reached the receiver.
      const q = new OutboxQueue<string>(2);
      q.push(item('i', 'service', { id: 'run', coalesceKey: 'svc:i' }), 0);
      const batch = q.selectBatch(0, 10);
      q.push(item('i', 'service', { id: 'stop', coalesceKey: 'svc:i' }), 0);
      const alarm = q.push(item('j', 'alarm', { id: 'loss' }), 0);
      expect(alarm.result === 'queued' && alarm.evicted?.id).toBe('stop');
      const out = q.settle(batch, undefined, 0, () => 0);
      expect(out.superseded).toEqual([]);
      expect(out.failed).toEqual(['run']);
      expect(ids(q.entries())).toEqual(['run', 'loss']);
      // It is the key's holder again: a newer fact replaces it as usual.
      const next = q.push(item('i', 'service', { id: 'stop2', coalesceKey: 'svc:i' }), 0);
      expect(next.result === 'queued' && next.replaced?.id).toBe('run');
    });

    it('keeps one entry per key however many arrive', () => {
      const q = new OutboxQueue<string>(100);
      for (let i = 0; i < 1000; i++) q.push(item(`i${i % 10}`, 'service', { coalesceKey: `svc:${i % 10}` }), 0);
      expect(q.size).toBe(10);
    });
  });

  describe('the bound', () => {
    it('evicts the oldest service entry first, then control', () => {
      const q = new OutboxQueue<string>(3);
      q.push(item('a', 'control', { id: 'c' }), 0);
      q.push(item('b', 'service', { id: 's1' }), 0);
      q.push(item('c', 'service', { id: 's2' }), 0);
      let out = q.push(item('d', 'service', { id: 's3' }), 0);
      expect(out.result === 'queued' && out.evicted?.id).toBe('s1');
      out = q.push(item('e', 'alarm', { id: 'a1' }), 0);
      expect(out.result === 'queued' && out.evicted?.id).toBe('s2');
      out = q.push(item('f', 'alarm', { id: 'a2' }), 0);
      expect(out.result === 'queued' && out.evicted?.id).toBe('s3');
      out = q.push(item('g', 'alarm', { id: 'a3' }), 0);
      expect(out.result === 'queued' && out.evicted?.id).toBe('c');
      expect(ids(q.entries())).toEqual(['a1', 'a2', 'a3']);
    });

    it('never evicts alarms or vote results: they are admitted over the bound', () => {
      const q = new OutboxQueue<string>(2);
      q.push(item('a', 'alarm'), 0);
      q.push(item('b', 'vote-result'), 0);
      expect(q.push(item('c', 'alarm'), 0).result).toBe('queued');
      expect(q.push(item('d', 'vote-result'), 0).result).toBe('queued');
      expect(q.size).toBe(4);
    });

    it('refuses a service or control entry when only alarms and vote results are left', () => {
      const q = new OutboxQueue<string>(2);
      q.push(item('a', 'alarm'), 0);
      q.push(item('b', 'vote-result'), 0);
      expect(q.push(item('c', 'service'), 0)).toEqual({ result: 'refused' });
      expect(q.push(item('c', 'control'), 0)).toEqual({ result: 'refused' });
      expect(q.size).toBe(2);
    });

    it('never evicts an entry in flight', () => {
      const q = new OutboxQueue<string>(1);
      q.push(item('a', 'service', { id: 's1' }), 0);
      q.selectBatch(0, 10);
      expect(q.push(item('b', 'service'), 0)).toEqual({ result: 'refused' });
    });

    it('classes: service and control are evictable, alarm and vote-result are not', () => {
      expect([isEvictable('service'), isEvictable('control'), isEvictable('alarm'), isEvictable('vote-result')]).toEqual([true, true, false, false]);
    });
  });

  describe('settle and backoff', () => {
    it('removes acked and rejected entries; the rest stay and the whole queue backs off', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('a', 'alarm', { id: 'a1' }), 0);
      q.push(item('b', 'alarm', { id: 'b1' }), 0);
      const batch = q.selectBatch(0, 10);
      const out = q.settle(batch, undefined, 1_000, (attempt) => attempt * 100);
      expect(out.success).toBe(false);
      expect(out.failed).toEqual(['a1', 'b1']);
      expect(q.consecutiveFailures).toBe(1);
      expect(q.selectBatch(1_099, 10)).toEqual([]);
      expect(q.nextRetryAtMs(1_000)).toBe(1_100);
      expect(ids(q.selectBatch(1_100, 10))).toEqual(['a1', 'b1']);
    });

    it('an answer that acks nothing is a failure', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('a', 'alarm'), 0);
      const out = q.settle(q.selectBatch(0, 10), { acked: [] }, 0, () => 50);
      expect(out.success).toBe(false);
      expect(q.consecutiveFailures).toBe(1);
    });

    it('grows the queue-wide delay with consecutive failures', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('a', 'alarm'), 0);
      const seen: number[] = [];
      for (let t = 0; t < 3; t++) q.settle(q.selectBatch(1e9, 10), undefined, 0, (attempt) => (seen.push(attempt), 10));
      expect(seen).toEqual([1, 2, 3]);
    });

    it('any success resets every backoff, so the queue drains at once', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('a', 'alarm', { id: 'a1' }), 0);
      q.push(item('b', 'service', { id: 'b1' }), 0);
      q.settle(q.selectBatch(0, 1), undefined, 0, () => 60_000);
      expect(q.selectBatch(10, 10)).toEqual([]);
      q.push(item('c', 'service', { id: 'c1' }), 10);
      // Something (an announce) lets one entry through and it is acked: everything else is sendable now.
      q.resetBackoff();
      const b = q.selectBatch(10, 1);
      q.settle(b, { acked: ids(b) }, 10, () => 60_000);
      q.settle([], undefined, 10, () => 60_000);
      expect(q.consecutiveFailures).toBe(0);
      expect(ids(q.selectBatch(10, 10)).sort()).toEqual(['b1', 'c1']);
    });

    it('a lane that fails next to successes keeps its own backoff (a poison entry does not hold the others)', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('bad', 'alarm', { id: 'x' }), 0);
      q.push(item('good', 'alarm', { id: 'y' }), 0);
      const out = q.settle(q.selectBatch(0, 10), { acked: ['y'] }, 0, () => 500);
      expect(out.success).toBe(true);
      expect(q.consecutiveFailures).toBe(0);
      q.push(item('good', 'alarm', { id: 'z' }), 0);
      expect(ids(q.selectBatch(0, 10))).toEqual(['z']);
      expect(ids(q.selectBatch(500, 10))).toEqual(['x']);
    });

    it('rejected entries are dropped and count as an answer', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('a', 'alarm', { id: 'a1' }), 0);
      const out = q.settle(q.selectBatch(0, 10), { acked: [], rejected: ['a1'] }, 0, () => 1);
      expect(out.success).toBe(true);
      expect(ids(out.rejected)).toEqual(['a1']);
      expect(q.size).toBe(0);
    });
  });

  describe('removeLane', () => {
    it('drops waiting entries at once and entries in flight when they settle, whatever the answer', () => {
      const q = new OutboxQueue<string>(100);
      q.push(item('gone', 'service', { id: 'g1' }), 0);
      const batch = q.selectBatch(0, 10);
      q.push(item('gone', 'alarm', { id: 'g2' }), 0);
      q.push(item('kept', 'alarm', { id: 'k1' }), 0);
      expect(ids(q.removeLane('gone'))).toEqual(['g2']);
      q.settle(batch, undefined, 0, () => 1);
      expect(ids(q.entries())).toEqual(['k1']);
    });
  });

  it('reports the oldest enqueue time and counts per class', () => {
    const q = new OutboxQueue<string>(100);
    expect(q.oldestEnqueuedAtMs()).toBeUndefined();
    q.push(item('a', 'service', { id: 'old' }), 5);
    q.push(item('b', 'alarm'), 9);
    expect(q.oldestEnqueuedAtMs()).toBe(5);
    expect(q.countByPriority('alarm')).toBe(1);
    q.settle(q.selectBatch(10, 2), { acked: ['old'] }, 10, noDelay);
    expect(q.oldestEnqueuedAtMs()).toBe(9);
  });

  it('rejects a bound below 1', () => {
    expect(() => new OutboxQueue(0)).toThrow(RangeError);
  });
});
