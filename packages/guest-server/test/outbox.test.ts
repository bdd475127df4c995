/** Outbox: order, one batch in flight, retry with backoff until acked, and the drop policy when full (ManualClock). */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock, type PeerEvent, type PeerEventKind } from '@guesthb/protocol';
import { Outbox, type OutboxMetrics, type SendBatch } from '../src/outbox.js';

const UUID = '11111111-2222-3333-4444-555555555555';
let seq = 0;
function event(kind: PeerEventKind, id = `e${++seq}`): PeerEvent {
  const base = { id, hostname: 'h', atMs: 0 };
  const instance = { hostname: 'h', uuid: UUID, reporting: 'enabled', heartbeating: 'enabled', 'repair-action': 'log', 'restart-to': '1', 'shutdown-to': '1', 'suspend-to': '1', 'resume-to': '1', 'vote-to': '1' } as const;
  switch (kind) {
    case 'server-ready': return { ...base, kind, url: 'http://h:1', bootId: 'b' };
    case 'running': return { ...base, kind, instance };
    case 'stopped': return { ...base, kind, instance, reason: 'loss' };
    case 'ill-health': return { ...base, kind, instance, logMsg: '' };
    case 'loss': return { ...base, kind, uuid: UUID, correctiveAction: 'log' };
    case 'vote-result': return { ...base, kind, uuid: UUID, notificationType: 'revocable', eventType: 'stop', vote: 'accept', reason: '' };
  }
}

class Metrics implements OutboxMetrics {
  depth = 0;
  drops: string[] = [];
  sentCount = 0;
  failures = 0;
  setDepth(d: number): void { this.depth = d; }
  dropped(kind: PeerEventKind): void { this.drops.push(kind); }
  sent(n: number): void { this.sentCount += n; }
  sendFailed(): void { this.failures++; }
}

/** A controllable agent: each call waits until the test settles it. */
function controlledSend(): { send: SendBatch; calls: { events: readonly PeerEvent[]; ok: (ids?: string[]) => void; fail: () => void }[] } {
  const calls: { events: readonly PeerEvent[]; ok: (ids?: string[]) => void; fail: () => void }[] = [];
  const send: SendBatch = (events) => new Promise((resolve, reject) => {
    calls.push({ events, ok: (ids) => resolve({ acked: ids ?? events.map((e) => e.id), reannounce: false }), fail: () => reject(new Error('down')) });
  });
  return { send, calls };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function makeOutbox(send: SendBatch, maxEvents = 1000): { outbox: Outbox; clock: ManualClock; metrics: Metrics } {
  const clock = new ManualClock();
  const metrics = new Metrics();
  const outbox = new Outbox({ maxEvents, clock, random: () => 0.5, log: pino({ level: 'silent' }), send, metrics });
  return { outbox, clock, metrics };
}

describe('Outbox', () => {
  it('waits for start, then sends in order with one batch in flight', async () => {
    const { send, calls } = controlledSend();
    const { outbox } = makeOutbox(send);
    outbox.push(event('server-ready', 'a'));
    outbox.push(event('running', 'b'));
    await flush();
    expect(calls).toHaveLength(0);
    outbox.start();
    outbox.push(event('stopped', 'c'));
    await flush();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.events.map((e) => e.id)).toEqual(['a', 'b']);
    outbox.push(event('loss', 'd'));
    await flush();
    expect(calls).toHaveLength(1);   // still one in flight
    calls[0]?.ok();
    await flush();
    await flush();
    expect(calls[1]?.events.map((e) => e.id)).toEqual(['c', 'd']);
  });

  it('retries with backoff until acked; nothing lost, order kept', async () => {
    const { send, calls } = controlledSend();
    const { outbox, clock, metrics } = makeOutbox(send);
    outbox.start();
    for (const id of ['a', 'b', 'c']) outbox.push(event('running', id));
    await flush();
    calls[0]?.fail();
    await flush();
    await flush();
    expect(calls).toHaveLength(1);
    expect(outbox.failedAttempts).toBe(1);
    clock.advance(499);
    await flush();
    expect(calls).toHaveLength(1);
    clock.advance(1);   // base 500 ms, jitter centred (random 0.5)
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]?.fail();
    await flush();
    await flush();
    clock.advance(1000);
    await flush();
    expect(calls).toHaveLength(3);
    expect(calls[2]?.events.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    calls[2]?.ok();
    await flush();
    expect(outbox.depth).toBe(0);
    expect(metrics.failures).toBe(2);
    expect(metrics.sentCount).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });

  it('partial ack keeps the rest; an empty ack counts as a failure', async () => {
    const { send, calls } = controlledSend();
    const { outbox } = makeOutbox(send);
    outbox.start();
    for (const id of ['a', 'b']) outbox.push(event('running', id));
    await flush();
    calls[0]?.ok(['a']);
    await flush();
    await flush();
    expect(calls[1]?.events.map((e) => e.id)).toEqual(['b']);
    calls[1]?.ok([]);
    await flush();
    await flush();
    expect(outbox.failedAttempts).toBe(1);
    expect(outbox.depth).toBe(1);
  });

  it('when full, drops ill-health first, then running/stopped, loss and vote results last', () => {
    const { send } = controlledSend();
    const { outbox, metrics } = makeOutbox(send, 4);
    outbox.push(event('loss', 'L1'));
    outbox.push(event('running', 'R1'));
    outbox.push(event('ill-health', 'I1'));
    outbox.push(event('vote-result', 'V1'));
    outbox.push(event('stopped', 'S1'));   // drops I1
    outbox.push(event('loss', 'L2'));      // drops R1
    outbox.push(event('loss', 'L3'));      // drops S1
    outbox.push(event('loss', 'L4'));      // only critical left: drops the oldest, L1
    expect(metrics.drops).toEqual(['ill-health', 'running', 'stopped', 'loss']);
    expect(outbox.depth).toBe(4);
  });

  it('drain waits for the queue to reach a reachable agent, and gives up at once when it is failing', async () => {
    const { send, calls } = controlledSend();
    const { outbox } = makeOutbox(send);
    outbox.start();
    outbox.push(event('loss', 'a'));
    await flush();
    const drained = outbox.drain(2000);
    calls[0]?.ok();
    await drained;
    expect(outbox.depth).toBe(0);
    outbox.push(event('loss', 'b'));
    await flush();
    calls[1]?.fail();
    await flush();
    const failing = outbox.drain(2000);   // retries at once, then stops at the first new failure
    await flush();
    expect(calls).toHaveLength(3);
    calls[2]?.fail();
    await failing;
    expect(outbox.depth).toBe(1);
  });

  it('close stops retrying and clears its timer', async () => {
    const { send, calls } = controlledSend();
    const { outbox, clock } = makeOutbox(send);
    outbox.start();
    outbox.push(event('running'));
    await flush();
    calls[0]?.fail();
    await flush();
    await flush();
    expect(clock.pendingTimers).toBe(1);
    await outbox.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
