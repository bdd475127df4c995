/** The outbox driver with a ManualClock: one timer, backoff and reset, concurrency, stats, persistence. */
import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '@guesthb/protocol';
import { MemoryStore, scopeStore } from '../src/key-value-store.js';
import { Outbox, SEND_ABORT_GRACE_MS, type OutboxDeps } from '../src/outbox.js';
import { NodeLikeClock } from './helpers/node-like-clock.js';
import type { QueuedEntry, SettleResult } from '../src/outbox-queue.js';

interface Call {
  readonly ids: string[];
  resolve(answer: SettleResult): void;
  reject(err: Error): void;
}

/** A receiver the test answers by hand. */
function receiver(): { calls: Call[]; send: (entries: readonly QueuedEntry<string>[]) => Promise<SettleResult> } {
  const calls: Call[] = [];
  return {
    calls,
    send: (entries) => new Promise<SettleResult>((resolve, reject) => {
      calls.push({ ids: entries.map((e) => e.id), resolve, reject });
    }),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function outbox(clock: Clock, send: OutboxDeps<string>['send'], extra: Partial<OutboxDeps<string>> = {}): Outbox<string> {
  return new Outbox<string>({ clock, random: () => 0.5, send, options: { backoff: { baseMs: 100, maxMs: 1_000 } }, ...extra });
}

/** An outbox on `clock` whose first send (entry 'a', lane x) the receiver refused: it is backing off. */
async function firstSendRefused(clock: NodeLikeClock): Promise<{ clock: NodeLikeClock; r: ReturnType<typeof receiver>; o: Outbox<string> }> {
  const r = receiver();
  const o = outbox(clock, r.send);
  o.start();
  o.push({ id: 'a', lane: 'x', priority: 'service', payload: 'A' });
  r.calls[0]?.reject(new Error('ECONNREFUSED'));
  await tick();
  return { clock, r, o };
}

describe('Outbox driver', () => {
  it('waits for start, then sends one batch at a time and removes what is acked', async () => {
    const clock = new ManualClock();
    const r = receiver();
    const o = outbox(clock, r.send);
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    expect(r.calls).toHaveLength(0);
    o.start();
    o.push({ id: 'b', lane: 'y', priority: 'service', payload: 'B' });
    expect(r.calls.map((c) => c.ids)).toEqual([['a']]);
    r.calls[0]?.resolve({ acked: ['a'] });
    await tick();
    expect(r.calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
    r.calls[1]?.resolve({ acked: ['b'] });
    await tick();
    expect(o.depth).toBe(0);
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('backs off after a failure with one timer, retries, and reports stats', async () => {
    const clock = new ManualClock();
    const r = receiver();
    const o = outbox(clock, r.send);
    o.start();
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    clock.advance(40);
    r.calls[0]?.reject(new Error('ECONNREFUSED'));
    await tick();
    expect(o.stats()).toEqual({ depth: 1, oldestUnackedAgeMs: 40, consecutiveFailures: 1, oldestInFlightAgeMs: 0, lastError: 'ECONNREFUSED' });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(99);
    expect(r.calls).toHaveLength(1);
    clock.advance(1);
    expect(r.calls).toHaveLength(2);
    r.calls[1]?.reject(new Error('ECONNREFUSED'));
    await tick();
    clock.advance(199);
    expect(r.calls).toHaveLength(2);
    clock.advance(1);
    expect(r.calls).toHaveLength(3);
    r.calls[2]?.resolve({ acked: ['a'] });
    await tick();
    expect(o.stats()).toEqual({ depth: 0, oldestUnackedAgeMs: 0, consecutiveFailures: 0, oldestInFlightAgeMs: 0 });
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('retryNow ends a backoff and the first success drains everything at once', async () => {
    const clock = new ManualClock();
    const r = receiver();
    const o = new Outbox<string>({ clock, random: () => 0.5, send: r.send, options: { maxBatchEntries: 1, backoff: { baseMs: 60_000, maxMs: 60_000 } } });
    o.start();
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    r.calls[0]?.reject(new Error('down'));
    await tick();
    o.push({ id: 'b', lane: 'y', priority: 'service', payload: 'B' });
    o.push({ id: 'c', lane: 'z', priority: 'service', payload: 'C' });
    expect(r.calls).toHaveLength(1);
    o.retryNow();
    expect(r.calls.map((c) => c.ids)).toEqual([['a'], ['a']]);
    r.calls[1]?.resolve({ acked: ['a'] });
    await tick();
    r.calls[2]?.resolve({ acked: r.calls[2].ids });
    await tick();
    r.calls[3]?.resolve({ acked: r.calls[3].ids });
    await tick();
    expect(r.calls.map((c) => c.ids)).toEqual([['a'], ['a'], ['b'], ['c']]);
    expect(o.depth).toBe(0);
    await o.close();
  });

  it('runs up to `concurrency` sends, each to other lanes', async () => {
    const clock = new ManualClock();
    const r = receiver();
    const o = new Outbox<string>({ clock, random: () => 0.5, send: r.send, options: { maxBatchEntries: 1, concurrency: 2 } });
    o.start();
    for (const [id, lane] of [['a1', 'a'], ['a2', 'a'], ['b1', 'b'], ['c1', 'c']] as const) o.push({ id, lane, priority: 'service', payload: id });
    expect(r.calls.map((c) => c.ids)).toEqual([['a1'], ['b1']]);
    r.calls[0]?.resolve({ acked: ['a1'] });
    await tick();
    expect(r.calls.map((c) => c.ids)).toEqual([['a1'], ['b1'], ['a2']]);
    r.calls[1]?.resolve({ acked: ['b1'] });
    r.calls[2]?.resolve({ acked: ['a2'] });
    await tick();
    r.calls[3]?.resolve({ acked: ['c1'] });
    await tick();
    expect(o.depth).toBe(0);
    await o.close();
  });

  it('counts coalesced, evicted and refused entries through the metrics hooks', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const o = new Outbox<string>({
      clock, random: () => 0.5, send: () => new Promise(() => undefined), options: { maxEntries: 2 },
      metrics: { coalesced: (p) => seen.push(`coalesced:${p}`), evicted: (p) => seen.push(`evicted:${p}`), refused: (p) => seen.push(`refused:${p}`) },
    });
    o.push({ id: '1', lane: 'i', priority: 'service', coalesceKey: 'svc:i', payload: 'running' });
    o.push({ id: '2', lane: 'i', priority: 'service', coalesceKey: 'svc:i', payload: 'stopped' });
    o.push({ id: '3', lane: 'i', priority: 'alarm', payload: 'loss' });
    o.push({ id: '4', lane: 'j', priority: 'alarm', payload: 'loss' });
    o.push({ id: '5', lane: 'k', priority: 'service', payload: 'running' });
    expect(seen).toEqual(['coalesced:service', 'evicted:service', 'refused:service']);
    expect(o.entries().map((e) => e.id)).toEqual(['3', '4']);
  });

  it('drops the queued entries of a removed lane', () => {
    const clock = new ManualClock();
    const o = outbox(clock, () => new Promise(() => undefined));
    o.push({ id: '1', lane: 'gone', priority: 'service', payload: 'x' });
    o.push({ id: '2', lane: 'gone', priority: 'alarm', payload: 'x' });
    o.push({ id: '3', lane: 'kept', priority: 'alarm', payload: 'x' });
    expect(o.removeLane('gone')).toBe(2);
    expect(o.entries().map((e) => e.id)).toEqual(['3']);
  });

  it('drain waits for a reachable receiver and stops at the first failure', async () => {
    const clock = new ManualClock();
    let fail = false;
    const o = outbox(clock, async (entries) => {
      await tick();
      if (fail) throw new Error('down');
      return { acked: entries.map((e) => e.id) };
    });
    o.start();
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    await o.drain(1_000);
    expect(o.depth).toBe(0);
    fail = true;
    o.push({ id: 'b', lane: 'x', priority: 'alarm', payload: 'B' });
    await o.drain(1_000);
    expect(o.depth).toBe(1);
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('[flake A] a retry timer that fires early and a clock that moves on between readings still send (no stall)', async () => {
    // The pass of an early timer read the clock twice: selectBatch just before the end of the backoff
    // (nothing sent), #arm just after it (no timer armed), and nothing was ever sent again.
    const { clock, r, o } = await firstSendRefused(new NodeLikeClock(0.02, 0.03));
    clock.runUntil(5_000);
    expect(r.calls.map((c) => c.ids)).toEqual([['a'], ['a']]);
    r.calls[1]?.resolve({ acked: ['a'] });
    await tick();
    expect(o.depth).toBe(0);
    await o.close();
  });

  it('[flake A] a push whose pass straddles the end of a backoff keeps the retry timer', async () => {
    const { clock, r, o } = await firstSendRefused(new NodeLikeClock(0, 0));
    clock.runUntil(99.97); // the backoff ends at 100
    clock.readStepMs = 0.02; // the push reads 99.97, its pass 99.99 for selectBatch, then 100.01
    o.push({ id: 'b', lane: 'y', priority: 'service', payload: 'B' });
    clock.runUntil(5_000);
    expect(r.calls.map((c) => c.ids)).toEqual([['a'], ['a', 'b']]);
    r.calls[1]?.resolve({ acked: ['a', 'b'] });
    await tick();
    await o.close();
  });

  it('a send that never settles is aborted at its deadline, failed after the grace, and its lanes retried', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    let answer: ((a: SettleResult) => void) | undefined;
    const o = new Outbox<string>({
      clock, random: () => 0.5, options: { sendTimeoutMs: 5_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      send: (entries, signal) => {
        signals.push(signal);
        // The first send ignores its signal (a request without a deadline); the retry is answered.
        return signals.length === 1 ? new Promise(() => undefined) : new Promise((resolve) => { answer = resolve; });
      },
    });
    o.start();
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    clock.advance(4_000);
    expect(o.stats().oldestInFlightAgeMs).toBe(4_000);
    clock.advance(1_000);
    expect(signals[0]?.aborted).toBe(true);
    expect(String(signals[0]?.reason)).toContain('send timed out after 5000 ms');
    clock.advance(SEND_ABORT_GRACE_MS);
    await tick();
    expect(o.stats()).toMatchObject({ depth: 1, consecutiveFailures: 1, oldestInFlightAgeMs: 0, lastError: 'send timed out after 5000 ms' });
    clock.advance(100);
    expect(signals).toHaveLength(2);
    answer?.({ acked: ['a'] });
    await tick();
    expect(o.depth).toBe(0);
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a send aborted at its deadline settles with what it has: acknowledged entries are not sent again', async () => {
    const clock = new ManualClock();
    const sent: string[][] = [];
    const o = new Outbox<string>({
      clock, random: () => 0.5, options: { sendTimeoutMs: 5_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      send: (entries, signal) => {
        sent.push(entries.map((e) => e.id));
        if (sent.length > 1) return Promise.resolve({ acked: entries.map((e) => e.id) });
        // The first entry went; the second hangs until the deadline aborts it.
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ acked: [entries[0]?.id ?? ''] })));
      },
    });
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    o.push({ id: 'b', lane: 'y', priority: 'alarm', payload: 'B' });
    o.start();
    clock.advance(5_000);
    await tick();
    clock.advance(100); // b's lane backs off on its own: it failed next to a success
    expect(sent).toEqual([['a', 'b'], ['b']]);
    await tick();
    expect(o.depth).toBe(0);
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a send function that throws synchronously counts as a failed send', async () => {
    const clock = new ManualClock();
    const o = outbox(clock, () => {
      throw new Error('boom');
    });
    o.start();
    o.push({ id: 'a', lane: 'x', priority: 'alarm', payload: 'A' });
    await tick();
    expect(o.stats().lastError).toBe('boom');
    await o.close();
  });

  describe('persistence', () => {
    it('writes entries to the store and deletes them when acked, replaced or evicted', async () => {
      const clock = new ManualClock();
      const store = new MemoryStore();
      const r = receiver();
      const o = outbox(clock, r.send, { store: scopeStore(store, 'ob/'), options: { maxEntries: 2 } });
      o.push({ id: '1', lane: 'i', priority: 'service', coalesceKey: 'k', payload: 'running' });
      o.push({ id: '2', lane: 'i', priority: 'service', coalesceKey: 'k', payload: 'stopped' });
      o.push({ id: '3', lane: 'j', priority: 'alarm', payload: 'loss' });
      expect([...store.entries()].map(([k]) => k).sort()).toEqual(['ob/2', 'ob/3']);
      o.push({ id: '4', lane: 'k', priority: 'alarm', payload: 'loss' });
      expect([...store.entries()].map(([k]) => k).sort()).toEqual(['ob/3', 'ob/4']);
      o.start();
      r.calls[0]?.resolve({ acked: ['3', '4'] });
      await tick();
      expect(store.size).toBe(0);
      await o.close();
    });

    it('a new outbox on the same store resumes in the old order, and new entries come after', async () => {
      const clock = new ManualClock();
      const store = new MemoryStore();
      const scoped = scopeStore(store, 'ob/');
      const o1 = outbox(clock, () => new Promise(() => undefined), { store: scoped });
      o1.push({ id: 'x1', lane: 'x', priority: 'service', payload: 'a' });
      o1.push({ id: 'x2', lane: 'x', priority: 'alarm', payload: 'b' });
      o1.push({ id: 'y1', lane: 'y', priority: 'vote-result', payload: 'c' });
      const r = receiver();
      const o2 = outbox(clock, r.send, { store: scoped });
      expect(o2.entries().map((e) => [e.id, e.payload])).toEqual([['x1', 'a'], ['x2', 'b'], ['y1', 'c']]);
      o2.push({ id: 'x3', lane: 'x', priority: 'service', payload: 'd' });
      expect(o2.entries().map((e) => e.id)).toEqual(['x1', 'x2', 'y1', 'x3']);
      o2.start();
      expect(r.calls[0]?.ids).toEqual(['x1', 'x2', 'x3', 'y1']);
      r.calls[0]?.resolve({ acked: ['x1', 'x2', 'x3', 'y1'] });
      await o2.close();
      expect([...scoped.entries()]).toEqual([]);
    });

    it('drops malformed or rejected persisted entries with a log line, never throws', () => {
      const clock = new ManualClock();
      const store = new MemoryStore();
      store.put('junk', { nope: true });
      store.put('bad', { seq: 1, item: { id: 'bad', lane: 'l', priority: 'alarm', payload: 42 } });
      store.put('ok', { seq: 2, item: { id: 'ok', lane: 'l', priority: 'alarm', payload: 'fine' } });
      const warned: string[] = [];
      const log = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (f: object) => warned.push(String((f as { key: string }).key)) };
      const o = outbox(clock, () => new Promise(() => undefined), {
        store, log, restorePayload: (p) => (typeof p === 'string' ? p : undefined),
      });
      expect(o.entries().map((e) => e.id)).toEqual(['ok']);
      expect(warned.sort()).toEqual(['bad', 'junk']);
      expect([...store.entries()].map(([k]) => k)).toEqual(['ok']);
    });
  });
});
