/** The audits (daemons §6.1): pure reconciliation rules, then both passes against real test peers on a ManualClock. */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock, type InstanceQueryReply } from '@guesthb/protocol';
import { Inventory, reconcileServer } from '../src/index.js';
import { FakeServer } from './helpers/fake-server.js';
import { startAgent } from './helpers/agent-harness.js';
import { FakeVim } from './helpers/fake-vim.js';
import { startHostFixture, type HostFixture } from './helpers/host-fixture.js';

const H = '11111111-1111-1111-1111-111111111111';
const A = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-cccc-cccc-cccccccccccc';
const D = 'dddddddd-dddd-dddd-dddd-dddddddddddd';
const fake = new FakeServer('compute-0');

function reply(instances: InstanceQueryReply['instances'], overrides: Partial<InstanceQueryReply> = {}): InstanceQueryReply {
  return { hostname: 'compute-0', url: 'http://127.0.0.1:9', bootId: 'b1', hostReporting: 'enabled', instances, ...overrides };
}

describe('reconcileServer', () => {
  function inventory(): Inventory {
    const inv = new Inventory();
    inv.addHost(H, 'compute-0');
    inv.addHost('22222222-1111-1111-1111-111111111111', 'compute-1');
    const host = inv.hostByName('compute-0');
    if (host !== undefined) inv.setHostReporting(host, true);
    inv.addInstance('compute-0', A, true);
    inv.addInstance('compute-1', B, true);
    inv.addInstance('compute-0', D, false);
    inv.registerServer('compute-0', 'http://127.0.0.1:9', 'b1', 0);
    const listed = inv.hostByName('compute-0');
    if (listed !== undefined) inv.confirmListed(listed, new Set([A, D])); // audit B done: deletions allowed
    return inv;
  }

  it('deletes unknown and foreign instances, restores the agent\'s reporting, adopts heartbeating, pushes missing ones', () => {
    const inv = inventory();
    const result = reconcileServer(inv, 'compute-0', reply([
      fake.info(A, { reporting: 'disabled', heartbeating: 'enabled', 'restart-to': '44', 'repair-action': 'stop' }),
      fake.info(B, { reporting: 'enabled' }), // registered to compute-1
      fake.info(C, {}), // unknown
    ], { hostReporting: 'disabled' }), 0);
    expect(result.commands).toEqual([
      { type: 'put-host', hostname: 'compute-0', reporting: 'enabled' },
      { type: 'put-instance', hostname: 'compute-0', uuid: A, reporting: 'enabled' },
      { type: 'delete-instance', hostname: 'compute-0', uuid: B },
      { type: 'delete-instance', hostname: 'compute-0', uuid: C },
      { type: 'put-instance', hostname: 'compute-0', uuid: D, reporting: 'disabled' },
    ]);
    expect(result.vim).toEqual([{ kind: 'service', uuid: A, hostname: 'compute-0', state: 'enabled', status: 'enabled', restartTimeout: '44' }]);
    expect(inv.instance(A)).toMatchObject({ heartbeating: true, correctiveAction: 'stop' });
    expect(inv.instance(B)?.hostname).toBe('compute-1');
  });

  it('deletes nothing on a host whose VIM instance list (audit B) has not arrived since the agent started', () => {
    const inv = new Inventory();
    inv.addHost(H, 'compute-0');
    inv.addHost('22222222-1111-1111-1111-111111111111', 'compute-1');
    inv.addInstance('compute-1', B, true);
    inv.registerServer('compute-0', 'http://127.0.0.1:9', 'b1', 0);
    const server = reply([fake.info(B, {}), fake.info(C, {})]);
    // Restarted agent: C unknown, B known elsewhere — both held while the host is not listed.
    expect(reconcileServer(inv, 'compute-0', server, 0).commands.filter((c) => c.type === 'delete-instance')).toEqual([]);
    expect(inv.hostByName('compute-0')?.listedByVim).toBe(false);
    // A refresh resetting gotInstances does not undo the rule's sticky flag; a uuid change does.
    const host = inv.hostByName('compute-0');
    if (host === undefined) throw new Error('no host');
    inv.confirmListed(host, new Set());
    inv.updateHost(inv.hostByName('compute-0') ?? host, { gotInstances: false });
    expect(reconcileServer(inv, 'compute-0', server, 0).commands.filter((c) => c.type === 'delete-instance').map((c) => c.uuid)).toEqual([B, C]);
    inv.addHost('33333333-1111-1111-1111-111111111111', 'compute-0');
    expect(reconcileServer(inv, 'compute-0', server, 0).commands.filter((c) => c.type === 'delete-instance')).toEqual([]);
  });

  it('a host learned from its server adopts the server\'s host reporting and pushes none; a learned instance takes the server\'s reporting', () => {
    const inv = new Inventory();
    inv.learnInstance('compute-0', A, true);
    inv.registerServer('compute-0', 'http://127.0.0.1:9', 'b1', 0);
    const result = reconcileServer(inv, 'compute-0', reply([fake.info(A, { reporting: 'disabled' })], { hostReporting: 'enabled' }), 0);
    expect(result.commands).toEqual([]);
    expect(inv.hostByName('compute-0')).toMatchObject({ uuid: undefined, reporting: true, reportingFromVim: false });
    expect(inv.instance(A)?.reporting).toBe(false);
  });

  it('tells the VIM the service state it was never told (level-triggered), then agrees silently when both views match', () => {
    const inv = inventory();
    const first = reconcileServer(inv, 'compute-0', reply([fake.info(A, { reporting: 'enabled' }), fake.info(D, {})]), 0);
    expect(first.vim.map((e) => e.uuid)).toEqual([A, D]);
    for (const event of first.vim) if (event.kind === 'service') inv.setTold(event.uuid, { service: event });
    const result = reconcileServer(inv, 'compute-0', reply([fake.info(A, { reporting: 'enabled' }), fake.info(D, {})]), 0);
    expect(result).toEqual({ vim: [], commands: [] });
  });

  it('treats a new boot id as a restart: pushes all state', () => {
    const inv = inventory();
    const result = reconcileServer(inv, 'compute-0', reply([], { bootId: 'b2' }), 0);
    expect(result.commands.map((c) => c.type)).toEqual(['put-host', 'put-instance', 'put-instance']);
  });
});

describe('audit passes', () => {
  async function setUp(): Promise<HostFixture & { clock: ManualClock }> {
    const clock = new ManualClock(0);
    const fixture = await startHostFixture(H, [[A, 'enabled'], [B, 'disabled']], { clock, deps: { vimRefreshMs: 60_000 } });
    await fixture.server.post(fixture.handle.rxUrl, [fixture.server.ready()]);
    return { ...fixture, clock };
  }

  it('agent↔VIM: queries host state and instances until they succeed, then only after the refresh period', async () => {
    const { vim, server, handle } = await setUp();
    const { agent } = handle;
    vim.hosts.clear(); // the VIM does not know the host yet: silent 400
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    await agent.auditNow();
    expect(agent.inventory.hostByName('compute-0')).toMatchObject({ gotHostState: false, gotInstances: true, reporting: false });
    vim.hosts.set('compute-0', { uuid: H, state: 'enabled' });
    await agent.auditNow();
    expect(agent.inventory.hostByName('compute-0')).toMatchObject({ gotHostState: true, gotInstances: true, reporting: true });
    expect(agent.inventory.instance(A)?.reporting).toBe(true);
    expect(agent.inventory.instance(B)?.reporting).toBe(false);
    await agent.whenIdle();
    expect(server.hostReporting).toBe('enabled');
    expect([...server.instances.keys()].sort()).toEqual([A, B]);
    const queries = vim.records.length;
    await agent.auditNow();
    expect(vim.records.length).toBe(queries);
  });

  it('agent↔server: runs on the audit timer (first after 2 s, then every period), reconciles and tells the VIM', async () => {
    const { vim, server, clock, handle } = await setUp();
    const { agent } = handle;
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    agent.update((inv) => inv.addInstance('compute-0', A, true));
    agent.update((inv) => {
      const listed = inv.hostByName('compute-0');
      if (listed !== undefined) inv.confirmListed(listed, new Set([A])); // deletions allowed
    });
    const stray = '99999999-9999-9999-9999-999999999999';
    server.instances.set(stray, server.info(stray, {}));
    server.instances.set(A, server.info(A, { reporting: 'enabled', heartbeating: 'enabled' }));
    const queries = (): number => server.commands.filter((c) => c.method === 'GET').length;
    clock.advance(1_999);
    expect(queries()).toBe(0);
    clock.advance(1);
    await expect.poll(() => queries()).toBe(1);
    await expect.poll(() => server.instances.has(stray)).toBe(false);
    await vim.waitFor((r) => r.method === 'PATCH' && (r.json as { 'event-type': string })['event-type'] === 'service');
    expect(vim.events('service')[0]?.json).toMatchObject({ uuid: A, 'event-data': { services: [{ status: 'enabled', 'restart-timeout': '120' }] } });
    await expect.poll(async () => (await fetch(`${handle.rxUrl}/metrics`).then((r) => r.text())).includes('guest_agent_audit_runs_total{audit="server",outcome="ok"} 1')).toBe(true);
    clock.advance(10_000);
    await expect.poll(() => queries()).toBe(2);
  });

  it('an unreachable server is logged and counted, and retried at the next pass', async () => {
    const { server, handle } = await setUp();
    const { agent } = handle;
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    await server.close();
    await agent.auditNow();
    const text = await fetch(`${handle.rxUrl}/metrics`).then((r) => r.text());
    expect(text).toContain('guest_agent_audit_runs_total{audit="server",outcome="error"} 1');
  });
});

describe('close', () => {
  it('leaves no timer behind: audit timers and outbox retries are cleared', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const clock = new ManualClock(0);
    const { agent, rxUrl } = await startAgent({ vimEventUrl: vim.url, clock });
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    agent.update((inv) => inv.addInstance('compute-0', A, true));
    await vim.down();
    const server = new FakeServer('compute-0');
    await server.post(rxUrl, [server.event('running', { instance: server.info(A, { reporting: 'enabled', heartbeating: 'enabled' }) })]);
    // Two audits, the tick, and the VIM outbox's one timer: its send's deadline, then its retry.
    await expect.poll(() => clock.pendingTimers).toBe(4);
    await agent.close();
    expect(clock.pendingTimers).toBe(0);
    await agent.close(); // idempotent
  });
});
