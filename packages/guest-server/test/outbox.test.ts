/**
 * The events toward the agent in the shared outbox (issue 12 item 3): classes and coalescing per event kind,
 * order, retry, reannounce, the flood with one alarm, and persistence across a new outbox (ManualClock).
 * The queue rules themselves are tested in packages/outbox.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryStore } from '@guesthb/outbox';
import { ManualClock, type PeerEvent, type PeerEventKind } from '@guesthb/protocol';
import { createAgentOutbox, peerEventItem, type OutboxMetrics, type SendBatch } from '../src/outbox.js';

const UUID = '11111111-2222-3333-4444-555555555555';
const uuidOf = (i: number): string => `11111111-2222-3333-4444-${i.toString(16).padStart(12, '0')}`;
let seq = 0;
function event(kind: PeerEventKind, uuid = UUID, id = `e${++seq}`): PeerEvent {
  const base = { id, hostname: 'h', atMs: 0 };
  const instance = { hostname: 'h', uuid, reporting: 'enabled', heartbeating: 'enabled', 'repair-action': 'log', 'restart-to': '1', 'shutdown-to': '1', 'suspend-to': '1', 'resume-to': '1', 'vote-to': '1' } as const;
  switch (kind) {
    case 'server-ready': return { ...base, kind, url: 'http://h:1', bootId: 'b' };
    case 'running': return { ...base, kind, instance };
    case 'stopped': return { ...base, kind, instance, reason: 'loss' };
    case 'ill-health': return { ...base, kind, instance, logMsg: '' };
    case 'loss': return { ...base, kind, uuid, correctiveAction: 'reboot' };
    case 'vote-result': return { ...base, kind, uuid, notificationType: 'revocable', eventType: 'stop', vote: 'accept', reason: '' };
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
function controlledSend(): { send: SendBatch; calls: { events: readonly PeerEvent[]; ok: (ids?: string[], reannounce?: boolean) => void; fail: () => void }[] } {
  const calls: { events: readonly PeerEvent[]; ok: (ids?: string[], reannounce?: boolean) => void; fail: () => void }[] = [];
  const send: SendBatch = (events) => new Promise((resolve, reject) => {
    calls.push({ events, ok: (ids, reannounce = false) => resolve({ acked: ids ?? events.map((e) => e.id), reannounce }), fail: () => reject(new Error('down')) });
  });
  return { send, calls };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const log = pino({ level: 'silent' });

describe('peerEventItem', () => {
  it('gives each kind its lane, class and coalescing key', () => {
    const item = (kind: PeerEventKind): unknown => {
      const { lane, priority, coalesceKey } = peerEventItem(event(kind));
      return { lane, priority, coalesceKey };
    };
    expect(item('loss')).toEqual({ lane: UUID, priority: 'alarm', coalesceKey: undefined });
    expect(item('ill-health')).toEqual({ lane: UUID, priority: 'alarm', coalesceKey: `ill-health:${UUID}` });
    expect(item('vote-result')).toEqual({ lane: UUID, priority: 'vote-result', coalesceKey: undefined });
    expect(item('running')).toEqual({ lane: UUID, priority: 'service', coalesceKey: `service:${UUID}` });
    expect(item('stopped')).toEqual({ lane: UUID, priority: 'service', coalesceKey: `service:${UUID}` });
    expect(item('server-ready')).toEqual({ lane: 'server', priority: 'control', coalesceKey: 'server-ready' });
  });
});

describe('agent outbox', () => {
  it('sends alarms first, keeps each instance in order and retries until acked', async () => {
    const clock = new ManualClock();
    const agent = controlledSend();
    const metrics = new Metrics();
    const o = createAgentOutbox({ clock, random: () => 0.5, log, maxEntries: 100, send: agent.send, metrics, onReannounce: () => undefined });
    const other = uuidOf(7);
    for (const e of [event('server-ready'), event('running', other), event('running'), event('loss')]) o.push(peerEventItem(e));
    o.start();
    // The lane holding the alarm first (with the entry before it), then the registration (control), then service.
    expect(agent.calls[0]?.events.map((e) => (e.kind === 'running' ? e.instance.uuid : e.kind))).toEqual([UUID, 'loss', 'server-ready', other]);
    agent.calls[0]?.fail();
    await tick();
    expect(metrics.failures).toBe(1);
    clock.advance(1_250);
    expect(agent.calls).toHaveLength(2);
    agent.calls[1]?.ok();
    await tick();
    expect(o.depth).toBe(0);
    expect(metrics.sentCount).toBe(4);
    await o.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('asks for a new registration when the agent says so', async () => {
    const clock = new ManualClock();
    const agent = controlledSend();
    let reannounced = 0;
    const o = createAgentOutbox({ clock, random: () => 0.5, log, maxEntries: 100, send: agent.send, metrics: new Metrics(), onReannounce: () => reannounced++ });
    o.start();
    o.push(peerEventItem(event('running')));
    agent.calls[0]?.ok(undefined, true);
    await tick();
    expect(reannounced).toBe(1);
    await o.close();
  });

  it('a flood of 10 000 service events of 100 instances keeps the one loss and the latest state of each', () => {
    const clock = new ManualClock();
    const o = createAgentOutbox({ clock, random: () => 0.5, log, maxEntries: 1_000, send: () => new Promise(() => undefined), metrics: new Metrics(), onReannounce: () => undefined });
    o.push(peerEventItem(event('loss', uuidOf(1_000), 'the-alarm')));
    for (let i = 0; i < 10_000; i++) o.push(peerEventItem(event(i % 2 === 0 ? 'running' : 'stopped', uuidOf(i % 100))));
    expect(o.depth).toBe(101);
    expect(o.entries().filter((e) => e.payload.kind === 'loss').map((e) => e.id)).toEqual(['the-alarm']);
    const service = o.entries().filter((e) => e.payload.kind === 'running' || e.payload.kind === 'stopped');
    expect(new Set(service.map((e) => e.lane)).size).toBe(100);
    // The latest of each: instances 0..99 last got event 9 900 + i.
    expect(service.every((e) => e.payload.kind === (Number.parseInt(e.lane.slice(-12), 16) % 2 === 0 ? 'running' : 'stopped'))).toBe(true);
  });

  it('a new outbox on the same store resends what was not acknowledged and drops what does not validate', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const first = createAgentOutbox({ clock, random: () => 0.5, log, maxEntries: 100, send: () => new Promise(() => undefined), metrics: new Metrics(), store, onReannounce: () => undefined });
    first.push(peerEventItem(event('loss', UUID, 'loss-1')));
    first.push(peerEventItem(event('vote-result', UUID, 'vote-1')));
    store.put('garbage', { seq: 9, item: { id: 'garbage', lane: 'x', priority: 'alarm', payload: { kind: 'loss' } } });
    const agent = controlledSend();
    const second = createAgentOutbox({ clock, random: () => 0.5, log, maxEntries: 100, send: agent.send, metrics: new Metrics(), store, onReannounce: () => undefined });
    expect(second.entries().map((e) => e.id)).toEqual(['loss-1', 'vote-1']);
    second.start();
    expect(agent.calls[0]?.events.map((e) => e.id)).toEqual(['loss-1', 'vote-1']);
    agent.calls[0]?.ok();
    await tick();
    expect([...store.entries()]).toEqual([]);
    await second.close();
  });
});
