/**
 * Fuzzing of guest-agent's reducer (issue 12 item 9): random interleavings of server events (duplicates,
 * late events of deleted instances, restarts), VIM commands, audit replies with random conditions, VIM
 * deliveries, vote forwards and ticks over a small pool of hosts and instances (each server event id is
 * handed over once, as the driver deduplicates repeats). What must hold after
 * every step:
 *  - nothing throws; tables stay within their bounds;
 *  - a tombstoned (deleted) instance is never in the inventory;
 *  - an alarm of one fault episode is told at most once, and a service event never repeats the last one told;
 *  - the journal (the persist effects replayed) restores exactly the durable tables (told alarms, votes,
 *    tombstones, hosts, instances and servers as far as they are journaled) of the current state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstanceInfo, PeerEvent } from '@guesthb/protocol';
import { emptyAgentState, step, type AgentInput, type AgentState, type DurableRecord, type VimEvent } from '@guesthb/guest-agent';

const SEED = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const RUNS = 400;
const HOSTS = ['compute-0', 'compute-1'];
const HOST_UUIDS = ['11111111-1111-1111-1111-111111111110', '11111111-1111-1111-1111-111111111111'];
const UUIDS = Array.from({ length: 6 }, (_, i) => `4a7c0f3e-8d2b-4c61-9e5a-${i.toString(16).padStart(12, '0')}`);
const LIMITS = { maxHosts: 2, maxInstances: 4, maxTombstones: 3, tombstoneTtlMs: 30_000, voteGraceMs: 2_000 };

const hostArb = fc.integer({ min: 0, max: HOSTS.length - 1 });
const uuidArb = fc.constantFrom(...UUIDS);
const onArb = fc.constantFrom('enabled' as const, 'disabled' as const);
const episodeArb = fc.integer({ min: 0, max: 5 }).map((n) => `ev-${n}`);

function info(hostname: string, uuid: string, reporting: 'enabled' | 'disabled', heartbeating: 'enabled' | 'disabled', extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    hostname, uuid, reporting, heartbeating, 'repair-action': 'reboot', 'restart-to': '60', 'shutdown-to': '10',
    'suspend-to': '10', 'resume-to': '10', 'vote-to': '3', ...extra,
  };
}

type Op =
  | { readonly op: 'event'; readonly host: number; readonly event: EventWithoutHost }
  | { readonly op: 'vim'; readonly method: string; readonly url: string; readonly body?: object }
  | { readonly op: 'audit'; readonly host: number; readonly instances: readonly InstanceInfo[]; readonly bootId: string }
  | { readonly op: 'forwarded'; readonly host: number; readonly uuid: string; readonly ok: boolean }
  | { readonly op: 'deliver'; readonly index: number }
  | { readonly op: 'advance'; readonly ms: number };

/** A peer event without its hostname (the op's host supplies it); distributes over the union's kinds. */
type EventWithoutHost = PeerEvent extends infer E ? (E extends PeerEvent ? Omit<E, 'hostname'> : never) : never;

const header = (id: string): { id: string; atMs: number } => ({ id, atMs: 0 });
const eventArb: fc.Arbitrary<Op> = fc.tuple(hostArb, uuidArb, fc.integer({ min: 0, max: 400 }), onArb, onArb, fc.constantFrom('running', 'stopped', 'loss', 'ill-health', 'vote-result', 'server-ready'))
  .map(([host, uuid, n, reporting, hb, kind]): Op => {
    const hostname = HOSTS[host] ?? 'compute-0';
    const id = `e${n}`;
    const i = info(hostname, uuid, reporting, hb);
    switch (kind) {
      case 'running': return { op: 'event', host, event: { ...header(id), kind: 'running', instance: { ...i, heartbeating: 'enabled' } } };
      case 'stopped': return { op: 'event', host, event: { ...header(id), kind: 'stopped', instance: { ...i, heartbeating: 'disabled' }, reason: 'exit' } };
      case 'loss': return { op: 'event', host, event: { ...header(id), kind: 'loss', uuid, correctiveAction: 'reboot' } };
      case 'ill-health': return { op: 'event', host, event: { ...header(id), kind: 'ill-health', instance: i, logMsg: '' } };
      case 'vote-result': return { op: 'event', host, event: { ...header(id), kind: 'vote-result', uuid, notificationType: 'revocable', eventType: 'stop', vote: 'accept', reason: '' } };
      case 'server-ready': return { op: 'event', host, event: { ...header(id), kind: 'server-ready', url: `http://127.0.0.1:${9 + host}`, bootId: `b${n % 3}` } };
    }
  }) as fc.Arbitrary<Op>;

const vimArb: fc.Arbitrary<Op> = fc.tuple(hostArb, uuidArb, fc.constantFrom('H1', 'H2', 'H3', 'I1', 'I2on', 'I2off', 'I3', 'I5')).map(([host, uuid, call]): Op => {
  const hostname = HOSTS[host] ?? 'compute-0';
  const hostUuid = HOST_UUIDS[host] ?? '';
  switch (call) {
    case 'H1': return { op: 'vim', method: 'POST', url: `/v1/hosts/${hostUuid}`, body: { uuid: hostUuid, hostname } };
    case 'H2': return { op: 'vim', method: 'PUT', url: `/v1/hosts/${hostUuid}/enable`, body: { uuid: hostUuid, hostname } };
    case 'H3': return { op: 'vim', method: 'PUT', url: `/v1/hosts/${hostUuid}/disable`, body: { uuid: hostUuid, hostname } };
    case 'I1': return { op: 'vim', method: 'POST', url: `/v1/instances/${uuid}`, body: { uuid, hostname, services: ['heartbeat'] } };
    case 'I2on':
    case 'I2off': return { op: 'vim', method: 'PATCH', url: `/v1/instances/${uuid}`, body: { uuid, hostname, services: [{ service: 'heartbeat', state: call === 'I2on' ? 'enabled' : 'disabled' }] } };
    case 'I3': return { op: 'vim', method: 'DELETE', url: `/v1/instances/${uuid}` };
    case 'I5': return { op: 'vim', method: 'POST', url: `/v1/instances/${uuid}/vote`, body: { uuid, hostname, action: 'stop' } };
  }
});

const auditArb: fc.Arbitrary<Op> = fc.tuple(hostArb, fc.array(fc.tuple(uuidArb, onArb, onArb, fc.constantFrom('healthy', 'failed', 'unhealthy', 'waiting-init', undefined), episodeArb), { maxLength: 4 }), fc.constantFrom('b0', 'b1'))
  .map(([host, list, bootId]): Op => ({
    op: 'audit', host, bootId,
    instances: list.map(([uuid, rep, hb, condition, episode]) => info(HOSTS[host] ?? '', uuid, rep, hb, condition === undefined ? {} : { condition, conditionEventId: episode, lossAction: 'stop' })),
  }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: eventArb },
  { weight: 5, arbitrary: vimArb },
  { weight: 3, arbitrary: auditArb },
  { weight: 1, arbitrary: fc.tuple(hostArb, uuidArb, fc.boolean()).map(([host, uuid, ok]): Op => ({ op: 'forwarded', host, uuid, ok })) },
  { weight: 2, arbitrary: fc.nat(50).map((index): Op => ({ op: 'deliver', index })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((ms): Op => ({ op: 'advance', ms })) },
);

function toInput(op: Op, sent: readonly VimEvent[], now: number): AgentInput | undefined {
  switch (op.op) {
    case 'event': return { type: 'server-events', events: [{ ...op.event, hostname: HOSTS[op.host] ?? '' } as PeerEvent] };
    case 'vim': return { type: 'vim-request', request: { method: op.method, url: op.url, userAgent: 'vim/1.0', body: op.body === undefined ? undefined : JSON.stringify(op.body) } };
    case 'audit': return {
      type: 'server-audit-reply', hostname: HOSTS[op.host] ?? '', queriedAtMs: now,
      reply: { hostname: HOSTS[op.host] ?? '', url: `http://127.0.0.1:${9 + op.host}`, bootId: op.bootId, hostReporting: 'enabled', instances: [...op.instances] },
    };
    case 'forwarded': return { type: 'action-forwarded', uuid: op.uuid, hostname: HOSTS[op.host] ?? '', command: 'vote', action: 'stop', timeoutSecs: 3, ok: op.ok };
    case 'deliver': {
      const event = sent[op.index % Math.max(1, sent.length)];
      return event === undefined ? undefined : { type: 'vim-delivered', event };
    }
    case 'advance': return { type: 'tick' };
  }
}

function durableOf(state: AgentState): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [uuid, told] of state.told.entries()) {
    if (told.failed !== undefined) out.set(`a:${uuid}:f`, told.failed);
    if (told.unhealthy !== undefined) out.set(`a:${uuid}:u`, told.unhealthy);
  }
  for (const [uuid, vote] of state.votes.entries()) out.set(`v:${uuid}`, vote);
  for (const [uuid, t] of state.tombstones.entries()) out.set(`t:${uuid}`, t);
  for (const [name, h] of state.hosts.entries()) out.set(`h:${name}`, [h.uuid, h.reporting, h.reportingFromVim]);
  for (const [uuid, i] of state.instances.entries()) out.set(`i:${uuid}`, [i.hostname, i.reporting]);
  for (const [name, srv] of state.servers.entries()) out.set(`s:${name}`, [srv.url, srv.bootId]);
  return out;
}

describe('agent reducer fuzz', () => {
  it('keeps its invariants under random interleavings', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
        let state = emptyAgentState(LIMITS);
        let now = 1_000;
        const sent: VimEvent[] = [];
        const alarmsPerEpisode = new Map<string, number>();
        const lastService = new Map<string, string>();
        const journal = new Map<string, DurableRecord>();
        const eventIds = new Set<string>();
        for (const op of ops) {
          if (op.op === 'advance') now += op.ms;
          // The driver hands the reducer each server event once (it acknowledges repeats of an id unseen).
          if (op.op === 'event') {
            const key = `${op.host}:${op.event.id}`;
            if (eventIds.has(key)) continue;
            eventIds.add(key);
          }
          const input = toInput(op, sent, now);
          if (input === undefined) continue;
          const [next, effects] = step(state, input, now);
          state = next;
          // A deleted instance starts afresh: what the VIM was told of it is forgotten (bounded), so it may be told again.
          if (op.op === 'vim' && op.method === 'DELETE') {
            const uuid = op.url.slice(op.url.lastIndexOf('/') + 1);
            lastService.delete(uuid);
            for (const key of [...alarmsPerEpisode.keys()]) if (key.includes(`:${uuid}:`)) alarmsPerEpisode.delete(key);
          }
          for (const fx of effects) {
            seen.set(fx.type, (seen.get(fx.type) ?? 0) + 1);
            if (fx.type === 'persist') {
              if (fx.record === undefined) journal.delete(fx.key);
              else journal.set(fx.key, fx.record);
            }
            if (fx.type !== 'vim-event') continue;
            sent.push(fx.event);
            const e = fx.event;
            if (e.kind === 'alarm-failed' || e.kind === 'alarm-unhealthy') {
              const key = `${e.kind}:${e.uuid}:${e.episode ?? ''}`;
              alarmsPerEpisode.set(key, (alarmsPerEpisode.get(key) ?? 0) + 1);
              // A recovered instance may be told again for a new episode id; the same id at most once between recoveries.
              if (e.kind === 'alarm-unhealthy') expect(alarmsPerEpisode.get(key)).toBe(1);
            }
            if (e.kind === 'service') {
              const text = JSON.stringify(e);
              expect(lastService.get(e.uuid)).not.toBe(text);
              lastService.set(e.uuid, text);
            }
          }
          expect(state.instances.size).toBeLessThanOrEqual(LIMITS.maxInstances);
          expect(state.hosts.size).toBeLessThanOrEqual(LIMITS.maxHosts);
          expect(state.tombstones.size).toBeLessThanOrEqual(LIMITS.maxTombstones);
          for (const uuid of state.tombstones.entries()) expect(state.instances.has(uuid[0])).toBe(false);
          // The journal replays to exactly the durable tables.
          const restored = step(emptyAgentState(LIMITS), { type: 'restore', records: [...journal.values()] }, now)[0];
          expect(durableOf(restored)).toEqual(durableOf(state));
        }
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    // The fuzz reaches the interesting paths, not only refusals.
    if (process.env['FUZZ_DEBUG'] !== undefined) console.log(JSON.stringify([...seen]));
    for (const kind of ['vim-event', 'persist', 'server-command', 'vim-reply', 'forward-action']) expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
  });
});
