/** The VIM outbox with a ManualClock and a scripted send: order, retries with backoff, bounds, close. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@guesthb/protocol';
import { VimOutbox, type DropReason, type OutboxOptions, type SendOutcome, type VimEvent } from '../src/index.js';

interface Pending {
  readonly event: VimEvent;
  readonly resolve: (outcome: SendOutcome) => void;
}

function setUp(options: Partial<OutboxOptions> = {}): {
  clock: ManualClock; outbox: VimOutbox; pending: Pending[]; sent: string[]; dropped: [string, DropReason][]; depth: number[];
} {
  const clock = new ManualClock();
  const pending: Pending[] = [];
  const sent: string[] = [];
  const dropped: [string, DropReason][] = [];
  const depth: number[] = [];
  const outbox = new VimOutbox({
    clock, random: () => 0.5, log: pino({ level: 'silent' }),
    send: (event) => new Promise((resolve) => pending.push({ event, resolve })),
    observer: { sent: (kind, outcome) => sent.push(`${kind}:${outcome}`), dropped: (kind, reason) => dropped.push([kind, reason]), depth: (n) => depth.push(n) },
    options: { maxItems: 100, maxAgeMs: 60_000, concurrency: 2, backoff: { baseMs: 1_000, maxMs: 8_000, jitter: 0.5 }, ...options },
  });
  return { clock, outbox, pending, sent, dropped, depth };
}

const action = (uuid: string, reason: string): VimEvent => ({ kind: 'action', uuid, action: 'stop', response: 'allow', reason });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('VIM outbox', () => {
  it('keeps per-instance order with one request in flight per instance, instances in parallel up to the limit', async () => {
    const { outbox, pending } = setUp();
    outbox.enqueue(action('a', '1'));
    outbox.enqueue(action('a', '2'));
    outbox.enqueue(action('b', '1'));
    outbox.enqueue(action('c', '1'));
    expect(pending.map((p) => `${p.event.uuid}${(p.event as { reason: string }).reason}`)).toEqual(['a1', 'b1']);
    pending.shift()?.resolve('no-reply');
    await flush();
    // Lanes take turns: c was waiting before a's second event became ready.
    expect(pending.map((p) => `${p.event.uuid}${(p.event as { reason: string }).reason}`)).toEqual(['b1', 'c1']);
    pending.shift()?.resolve('delivered');
    await flush();
    expect(pending.map((p) => `${p.event.uuid}${(p.event as { reason: string }).reason}`)).toEqual(['c1', 'a2']);
    pending.splice(0).forEach((p) => p.resolve('delivered'));
    await outbox.whenIdle();
    expect(outbox.size).toBe(0);
  });

  it('retries a failed send after an exponential backoff with jitter, keeping the order behind it', async () => {
    const { clock, outbox, pending, sent } = setUp({ concurrency: 1 });
    outbox.enqueue(action('a', '1'));
    outbox.enqueue(action('a', '2'));
    pending.shift()?.resolve('retry');
    await flush();
    expect(pending).toHaveLength(0);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999); // attempt 1: base 1000 ms, random 0.5 → exactly 1000
    expect(pending).toHaveLength(0);
    clock.advance(1);
    expect((pending[0]?.event as { reason: string }).reason).toBe('1');
    pending.shift()?.resolve('retry');
    await flush();
    clock.advance(2_000); // attempt 2: 2000 ms
    expect((pending[0]?.event as { reason: string }).reason).toBe('1');
    pending.shift()?.resolve('delivered');
    await flush();
    expect((pending[0]?.event as { reason: string }).reason).toBe('2');
    pending.shift()?.resolve('delivered');
    await outbox.whenIdle();
    expect(sent).toEqual(['action:retry', 'action:retry', 'action:delivered', 'action:delivered']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drops an event still undelivered after maxAgeMs, with a metric', async () => {
    const { clock, outbox, pending, dropped } = setUp({ maxAgeMs: 5_000 });
    outbox.enqueue(action('a', '1'));
    for (let i = 0; i < 10 && pending.length > 0; i++) {
      pending.shift()?.resolve('retry');
      await flush();
      clock.advance(8_000);
    }
    await flush();
    expect(dropped).toEqual([['action', 'expired']]);
    expect(outbox.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('is bounded: when full, the oldest waiting event is dropped, never the one in flight', () => {
    const { outbox, pending, dropped, depth } = setUp({ maxItems: 3, concurrency: 1 });
    outbox.enqueue(action('a', '1')); // in flight
    outbox.enqueue(action('a', '2'));
    outbox.enqueue(action('b', '1'));
    outbox.enqueue(action('c', '1')); // full: a2 goes
    expect(dropped).toEqual([['action', 'full']]);
    expect(outbox.size).toBe(3);
    expect(Math.max(...depth)).toBe(3);
    expect(pending).toHaveLength(1);
  });

  it('never blocks enqueue while the VIM hangs, and close drops what waits and leaves no timer', async () => {
    const { clock, outbox, pending, dropped } = setUp({ concurrency: 1 });
    for (let i = 0; i < 50; i++) outbox.enqueue(action(`i${i}`, 'x'));
    expect(pending).toHaveLength(1);
    expect(outbox.size).toBe(50);
    outbox.close();
    expect(dropped).toHaveLength(49);
    pending.shift()?.resolve('retry');
    await outbox.whenIdle();
    expect(outbox.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    outbox.enqueue(action('late', 'x'));
    expect(dropped.at(-1)).toEqual(['action', 'closed']);
  });
});
