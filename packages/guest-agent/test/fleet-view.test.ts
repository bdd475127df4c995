/** The operator's view (issue 15): the state column and the last event, as pure functions; the fleet adapter on a ManualClock. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock, type OperatorStreamMessage, type PeerEvent } from '@guesthb/protocol';
import type { Host, Instance } from '../src/agent-state.js';
import { InventoryFleet } from '../src/fleet-source.js';
import { deriveState, factsOf, type InstanceFacts } from '../src/fleet-view.js';
import { Inventory } from '../src/inventory.js';

const UUID = '11111111-2222-3333-4444-555555555555';
const host = (over: Partial<Host> = {}): Host => ({
  uuid: 'h', hostname: 'compute-0', reporting: true, reportingFromVim: true, listedByVim: true, gotHostState: true, gotInstances: true, vimSyncedAtMs: 0, ...over,
});
const inst = (over: Partial<Instance> = {}): Instance => ({
  uuid: UUID, hostname: 'compute-0', reporting: true, heartbeating: true, correctiveAction: 'reboot',
  timeouts: { restart: '0', shutdown: '0', suspend: '0', resume: '0', vote: '0' }, fromServer: false, lastEventAtMs: undefined, ...over,
});
const info = { hostname: 'compute-0', uuid: UUID, reporting: 'enabled', heartbeating: 'enabled', 'repair-action': 'reboot', 'restart-to': '1', 'shutdown-to': '1', 'suspend-to': '1', 'resume-to': '1', 'vote-to': '1' } as const;
const header = { id: 'e1', hostname: 'compute-0', atMs: 1000 };
const facts = (event: PeerEvent, previous?: InstanceFacts): InstanceFacts | undefined => factsOf(event, previous);

describe('the state column', () => {
  const loss = facts({ ...header, kind: 'loss', uuid: UUID, correctiveAction: 'reboot' });
  const sick = facts({ ...header, kind: 'ill-health', instance: info, logMsg: 'app down' });
  const gone = facts({ ...header, kind: 'stopped', instance: info, reason: 'disconnect' });
  it.each([
    ['healthy', inst(), host(), true, undefined],
    ['unhealthy', inst(), host(), true, sick],
    ['failed', inst(), host(), true, loss],
    ['failed', inst({ heartbeating: false }), host(), true, loss],
    ['disconnected', inst({ heartbeating: false }), host(), true, gone],
    ['disconnected', inst(), host(), false, undefined],
    ['waiting-init', inst({ heartbeating: false }), host(), true, undefined],
    ['not-monitored', inst({ reporting: false }), host(), true, loss],
    ['not-monitored', inst(), host({ reporting: false }), true, undefined],
    ['healthy', inst(), host({ reporting: false, reportingFromVim: false }), true, undefined],
  ] as const)('%s', (state, i, h, reachable, f) => {
    expect(deriveState(i, h, reachable, f)).toBe(state);
  });

  it('a running event clears a loss; a vote result keeps the condition and becomes the last event', () => {
    const running = facts({ ...header, kind: 'running', instance: info });
    expect(running?.condition).toBe('ok');
    const vote = facts({ ...header, atMs: 2000, kind: 'vote-result', uuid: UUID, notificationType: 'revocable', eventType: 'stop', vote: 'reject', reason: 'busy' }, loss);
    expect(vote).toEqual({ condition: 'failed', lastEvent: { kind: 'vote-result', detail: 'stop revocable: reject (busy)', atMs: 2000 } });
    expect(facts({ ...header, kind: 'stopped', instance: info, reason: 'loss' })?.condition).toBe('failed');
    expect(facts({ ...header, kind: 'stopped', instance: info, reason: 'reporting-disabled' })?.condition).toBe('none');
    expect(facts({ ...header, kind: 'server-ready', url: 'http://x', bootId: 'b' })).toBeUndefined();
  });
});

describe('InventoryFleet', () => {
  function setUp() {
    const clock = new ManualClock(0);
    const inventory = new Inventory();
    inventory.addHost('h', 'compute-0');
    const compute = inventory.hostByName('compute-0');
    if (compute !== undefined) inventory.setHostReporting(compute, true);
    inventory.addInstance('compute-0', UUID, true);
    inventory.registerServer('compute-0', 'http://s:2411', 'boot1', 0);
    const fleet = new InventoryFleet({ inventory, clock, log: pino({ level: 'silent' }), vimOutboxDepth: () => 3, reachableWindowMs: () => 10_000, pollMs: 1000 });
    return { clock, inventory, fleet };
  }

  it('lists hosts with counts and reachability, instances by filter, one by uuid', () => {
    const { clock, fleet } = setUp();
    expect(fleet.hosts()).toMatchObject({ vimOutboxDepth: 3, hosts: [{ hostname: 'compute-0', instances: 1, states: { 'waiting-init': 1 }, server: { reachable: true } }] });
    expect(fleet.instances({ state: 'waiting-init' })).toHaveLength(1);
    expect(fleet.instances({ host: 'compute-1' })).toHaveLength(0);
    expect(fleet.instance(UUID)?.state).toBe('waiting-init');
    expect(fleet.instance('nope')).toBeUndefined();
    clock.advance(10_001);
    expect(fleet.instance(UUID)?.state).toBe('disconnected');
    expect(fleet.hosts().hosts[0]?.server).toMatchObject({ reachable: false, lastContactAgoMs: 10_001 });
  });

  it('shows the name, interval, misses and round trip that the server reports in events and audit replies', () => {
    const { fleet } = setUp();
    expect(fleet.instance(UUID)).toMatchObject({ name: null, intervalMs: null, misses: null, lastRttMs: null });
    fleet.noteServerEvent({ ...header, kind: 'running', instance: { ...info, name: 'vm-1', intervalMs: 400, misses: 0, lastRttMs: 0.3 } });
    expect(fleet.instance(UUID)).toMatchObject({ name: 'vm-1', intervalMs: 400, misses: 0, lastRttMs: 0.3 });
    expect(fleet.instance('vm-1')?.uuid).toBe(UUID);
    // An audit reply without a round trip (challenge in flight) keeps the last one.
    fleet.noteServerQuery({ hostname: 'compute-0', url: 'http://s:2411', bootId: 'boot1', hostReporting: 'enabled', instances: [{ ...info, name: 'vm-1', intervalMs: 400, misses: 1 }] });
    expect(fleet.instance(UUID)).toMatchObject({ misses: 1, lastRttMs: 0.3 });
    expect(fleet.hosts().hosts[0]?.server?.outboxDepth).toBeNull(); // that reply did not say
    fleet.noteServerQuery({ hostname: 'compute-0', url: 'http://s:2411', bootId: 'boot1', hostReporting: 'enabled', instances: [], outboxDepth: 5 });
    expect(fleet.hosts().hosts[0]?.server?.outboxDepth).toBe(5);
  });

  it('sends a server event at once, other changes at the next comparison, and stops its timer when closed', () => {
    const { clock, inventory, fleet } = setUp();
    const got: OperatorStreamMessage[] = [];
    const unsubscribe = fleet.subscribe((m) => got.push(m));
    fleet.noteServerEvent({ ...header, kind: 'loss', uuid: UUID, correctiveAction: 'reboot' });
    expect(got.map((m) => m.type)).toEqual(['server-event', 'instance']);
    expect(got[1]).toMatchObject({ type: 'instance', instance: { uuid: UUID, state: 'failed', lastEvent: { kind: 'loss' } } });
    inventory.deleteInstance(UUID, 0);
    clock.advance(1000);
    expect(got).toContainEqual({ type: 'instance-removed', uuid: UUID, hostname: 'compute-0' });
    const hostMessages = (): number => got.filter((m) => m.type === 'host').length;
    const before = hostMessages(); // its counts changed
    clock.advance(20_000); // the server goes silent: the host changes once (reachable → unreachable)
    expect(hostMessages()).toBe(before + 1);
    expect(got.at(-1)).toMatchObject({ type: 'host', host: { server: { reachable: false } } });
    unsubscribe();
    clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
    fleet.subscribe(() => undefined);
    fleet.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
