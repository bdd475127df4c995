/** Server events (daemons §3.7): pure planning rules, then idempotency and routing over the real rx listener. */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ManualClock, PeerEvent } from '@guesthb/protocol';
import { guestResponseOf, Inventory, planServerEvent } from '../src/index.js';
import { startAgent } from './helpers/agent-harness.js';
import { FakeServer } from './helpers/fake-server.js';
import { FakeVim } from './helpers/fake-vim.js';

const H = '11111111-1111-1111-1111-111111111111';
const U = '22222222-2222-2222-2222-222222222222';

function inventoryWith(hostReporting: boolean, instReporting: boolean): Inventory {
  const inv = new Inventory();
  inv.addHost(H, 'compute-0');
  const host = inv.hostByName('compute-0');
  if (host !== undefined) inv.setHostReporting(host, hostReporting);
  inv.addInstance('compute-0', U, instReporting);
  return inv;
}

const server = new FakeServer('compute-0');

describe('planServerEvent', () => {
  it('running: heartbeating, timeouts and action adopted; a service event with restart-to', () => {
    const inv = inventoryWith(true, true);
    const info = server.info(U, { reporting: 'enabled', heartbeating: 'enabled', 'restart-to': '33', 'repair-action': 'reboot' });
    const plan = planServerEvent(inv, server.event('running', { instance: info }), 0);
    expect(plan.vim).toMatchObject([{ kind: 'service', uuid: U, hostname: 'compute-0', state: 'enabled', status: 'enabled', restartTimeout: '33' }]);
    expect(plan.commands).toEqual([]);
    expect(inv.instance(U)).toMatchObject({ heartbeating: true, correctiveAction: 'reboot' });
  });

  it('stopped: a service event with status disabled and restart-timeout "0"', () => {
    const inv = inventoryWith(true, true);
    const info = server.info(U, { reporting: 'enabled' });
    const plan = planServerEvent(inv, server.event('stopped', { instance: info, reason: 'exit' }), 0);
    expect(plan.vim).toMatchObject([{ kind: 'service', uuid: U, hostname: 'compute-0', state: 'enabled', status: 'disabled', restartTimeout: '0' }]);
  });

  it('the agent\'s reporting wins over the server\'s, and the server is corrected at once (daemons §9 item 17)', () => {
    const inv = inventoryWith(true, true);
    const info = server.info(U, { reporting: 'disabled', heartbeating: 'enabled' });
    const plan = planServerEvent(inv, server.event('running', { instance: info }), 0);
    expect(plan.commands).toEqual([{ type: 'put-instance', hostname: 'compute-0', uuid: U, reporting: 'enabled' }]);
    expect(plan.vim[0]).toMatchObject({ state: 'enabled' });
  });

  it('ill-health: an unhealthy alarm with the unhealthy action; none/unknown send nothing', () => {
    const inv = inventoryWith(false, false);
    const ill = (action: 'stop' | 'none'): PeerEvent => server.event('ill-health', { instance: server.info(U, { 'repair-action': action }), logMsg: 'disk full' });
    expect(planServerEvent(inv, ill('stop'), 0).vim).toMatchObject([{ kind: 'alarm-unhealthy', uuid: U, hostname: 'compute-0', repairAction: 'stop' }]);
    expect(planServerEvent(inv, ill('none'), 0).vim).toEqual([]);
  });

  it('loss: a failed alarm with the event\'s corrective action, only when host and instance reporting are on', () => {
    const loss = server.event('loss', { uuid: U, correctiveAction: 'reboot' });
    expect(planServerEvent(inventoryWith(true, true), loss, 0).vim).toMatchObject([{ kind: 'alarm-failed', uuid: U, hostname: 'compute-0', repairAction: 'reboot' }]);
    expect(planServerEvent(inventoryWith(false, true), loss, 0).vim).toEqual([]);
    expect(planServerEvent(inventoryWith(true, false), loss, 0).vim).toEqual([]);
  });

  it('vote results: accept/complete → allow (vote) or proceed (notify); reject → reject; timeout/error → allow/proceed', () => {
    expect(guestResponseOf('revocable', 'accept')).toBe('allow');
    expect(guestResponseOf('irrevocable', 'complete')).toBe('proceed');
    expect(guestResponseOf('revocable', 'reject')).toBe('reject');
    expect(guestResponseOf('irrevocable', 'reject')).toBe('reject');
    expect(guestResponseOf('revocable', 'timeout')).toBe('allow');
    expect(guestResponseOf('irrevocable', 'error')).toBe('proceed');
    expect(guestResponseOf('unknown', 'accept')).toBeUndefined();
    const inv = inventoryWith(true, true);
    const vote = server.event('vote-result', { uuid: U, notificationType: 'revocable', eventType: 'stop', vote: 'reject', reason: 'busy "now"' });
    expect(planServerEvent(inv, vote, 0).vim).toMatchObject([{ kind: 'action', uuid: U, action: 'stop', response: 'reject', reason: 'busy "now"' }]);
  });

  it('server-ready: a new or restarted server gets the whole state; a repeat gets nothing', () => {
    const inv = inventoryWith(true, false);
    const ready = (bootId: string): PeerEvent => server.event('server-ready', { url: 'http://127.0.0.1:9', bootId });
    expect(planServerEvent(inv, ready('b1'), 0).commands).toEqual([
      { type: 'put-host', hostname: 'compute-0', reporting: 'enabled' },
      { type: 'put-instance', hostname: 'compute-0', uuid: U, reporting: 'disabled' },
    ]);
    expect(planServerEvent(inv, ready('b1'), 0).commands).toEqual([]);
    expect(planServerEvent(inv, ready('b2'), 0).commands).toHaveLength(2);
  });
});

describe('planServerEvent after an agent restart (empty inventory): learn from the servers', () => {
  it('server-ready of an unknown host registers it by hostname, uuid unknown, and pushes no host reporting', () => {
    const inv = new Inventory();
    const plan = planServerEvent(inv, server.event('server-ready', { url: 'http://127.0.0.1:9', bootId: 'b1' }), 0);
    expect(plan.commands).toEqual([]);
    expect(inv.hostByName('compute-0')).toMatchObject({ uuid: undefined, reportingFromVim: false, listedByVim: false });
    expect(inv.server('compute-0')?.url).toBe('http://127.0.0.1:9');
    const full = new Inventory({ maxHosts: 0, maxInstances: 1 });
    expect(planServerEvent(full, server.event('server-ready', { url: 'http://127.0.0.1:9', bootId: 'b1' }), 0).note).toMatch(/full/);
  });

  it('running/stopped/ill-health of an unknown instance create it from the event, with the server\'s reporting', () => {
    const inv = new Inventory();
    const info = server.info(U, { reporting: 'disabled', heartbeating: 'enabled', 'restart-to': '33', 'repair-action': 'stop' });
    const plan = planServerEvent(inv, server.event('running', { instance: info }), 0);
    expect(plan.commands).toEqual([]);
    expect(plan.vim).toMatchObject([{ kind: 'service', uuid: U, hostname: 'compute-0', state: 'disabled', status: 'enabled', restartTimeout: '33' }]);
    expect(inv.instance(U)).toMatchObject({ hostname: 'compute-0', reporting: false, heartbeating: true, correctiveAction: 'stop', fromServer: true, timeouts: { restart: '33' } });
    // Until the VIM confirms it, the server's reporting is adopted rather than corrected.
    planServerEvent(inv, server.event('stopped', { instance: server.info(U, { reporting: 'enabled' }), reason: 'exit' }), 0);
    expect(inv.instance(U)).toMatchObject({ reporting: true, heartbeating: false });
    const other = '44444444-4444-4444-4444-444444444444';
    const ill = planServerEvent(inv, server.event('ill-health', { instance: server.info(other, { 'repair-action': 'reboot' }), logMsg: 'x' }), 0);
    expect(ill.vim).toMatchObject([{ kind: 'alarm-unhealthy', uuid: other, hostname: 'compute-0', repairAction: 'reboot' }]);
    expect(planServerEvent(new Inventory({ maxHosts: 1, maxInstances: 0 }), server.event('running', { instance: info }), 0).note).toMatch(/full/);
  });

  it('loss of an unknown instance creates it (reporting on) and raises the failed alarm with the event\'s action', () => {
    const inv = new Inventory();
    const plan = planServerEvent(inv, server.event('loss', { uuid: U, correctiveAction: 'reboot' }), 0);
    expect(plan.vim).toMatchObject([{ kind: 'alarm-failed', uuid: U, hostname: 'compute-0', repairAction: 'reboot' }]);
    expect(inv.instance(U)).toMatchObject({ hostname: 'compute-0', reporting: true, correctiveAction: 'reboot', fromServer: true });
    expect(planServerEvent(new Inventory({ maxHosts: 1, maxInstances: 0 }), server.event('loss', { uuid: U, correctiveAction: 'log' }), 0).note).toMatch(/full/);
  });

  it('host gate: the server\'s is trusted until the VIM gives the host state, then the VIM\'s applies', () => {
    const inv = new Inventory();
    inv.learnInstance('compute-0', U, true);
    const host = inv.hostByName('compute-0');
    if (host === undefined) throw new Error('no host');
    const loss = server.event('loss', { uuid: U, correctiveAction: 'stop' });
    expect(host.reporting).toBe(false);
    expect(planServerEvent(inv, loss, 0).vim).toHaveLength(1);
    inv.setHostReporting(host, false); // H3 or audit A
    expect(planServerEvent(inv, loss, 0).vim).toEqual([]);
  });

  it('a vote result of an unknown instance is still forwarded to the VIM (it needs only the uuid)', () => {
    const vote = server.event('vote-result', { uuid: U, notificationType: 'irrevocable', eventType: 'reboot', vote: 'complete', reason: '' });
    expect(planServerEvent(new Inventory(), vote, 0).vim).toMatchObject([{ kind: 'action', uuid: U, action: 'reboot', response: 'proceed', reason: '' }]);
  });

  it('audit B confirms listed learned instances and removes (and deletes on the server) unlisted ones', () => {
    const inv = new Inventory();
    const other = '44444444-4444-4444-4444-444444444444';
    inv.learnInstance('compute-0', U, true);
    inv.learnInstance('compute-0', other, true);
    inv.addHost(H, 'compute-0');
    const host = inv.hostByName('compute-0');
    if (host === undefined) throw new Error('no host');
    expect(host.uuid).toBe(H);
    expect(inv.addInstance('compute-0', U, true)).toEqual({ ok: true, commands: [] });
    expect(inv.confirmListed(host, new Set([U]))).toEqual([{ type: 'delete-instance', hostname: 'compute-0', uuid: other }]);
    expect(inv.instance(U)?.fromServer).toBe(false);
    expect(inv.instance(other)).toBeUndefined();
    expect(inv.hostByName(host.hostname)?.listedByVim).toBe(true);
  });
});

describe('POST /v1/events on the rx listener', () => {
  async function setUp(token?: string): Promise<{ vim: FakeVim; fake: FakeServer; rxUrl: string; agent: Awaited<ReturnType<typeof startAgent>>['agent'] }> {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const fake = new FakeServer('compute-0');
    await fake.start();
    onTestFinished(() => fake.close());
    const { rxUrl, agent } = await startAgent({ vimEventUrl: vim.url, deps: { token } });
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    agent.update((inv) => {
      const host = inv.hostByName('compute-0');
      if (host !== undefined) inv.setHostReporting(host, true);
    });
    agent.update((inv) => inv.addInstance('compute-0', U, true));
    return { vim, fake, rxUrl, agent };
  }

  it('acks every id, processes a repeated id once (idempotent), and asks an unregistered server to re-announce', async () => {
    const { vim, fake, rxUrl, agent } = await setUp();
    const loss = fake.event('loss', { uuid: U, correctiveAction: 'stop' });
    const first = await fake.post(rxUrl, [loss]);
    expect(first.ack).toEqual({ acked: [loss.id], reannounce: true });
    const again = await fake.post(rxUrl, [loss]);
    expect(again.ack?.acked).toEqual([loss.id]);
    await agent.whenIdle();
    expect(vim.events('alarm')).toHaveLength(1);
    const registered = await fake.post(rxUrl, [fake.ready()]);
    expect(registered.ack?.reannounce).toBeUndefined();
    const text = await (await fetch(`${rxUrl}/metrics`)).text();
    expect(text).toContain('guest_agent_server_events_total{kind="loss",outcome="duplicate"} 1');
    expect(text).toContain('guest_agent_vim_events_total{kind="alarm-failed",outcome="delivered"} 1');
  });

  it('pushes the agent\'s state to a server that registers (MONITOR_READY)', async () => {
    const { fake, rxUrl, agent } = await setUp();
    await fake.post(rxUrl, [fake.ready()]);
    await agent.whenIdle();
    expect(fake.hostReporting).toBe('enabled');
    expect(fake.instances.get(U)?.reporting).toBe('enabled');
  });

  it('refuses a bad batch (400) and, with a token, a missing bearer (401), with coded bodies', async () => {
    const { fake, rxUrl } = await setUp('s3cret');
    const denied = await fake.post(rxUrl, [fake.ready()]);
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ code: 'GA_ERR_UNAUTHORIZED' });
    const ok = await fake.post(rxUrl, [fake.ready()], 's3cret');
    expect(ok.status).toBe(200);
    const bad = await fake.post(rxUrl, [{ kind: 'loss' } as unknown as PeerEvent], 's3cret');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'GA_ERR_BAD_EVENT_BATCH' });
    const notJson = await fetch(`${rxUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('a slow VIM does not delay the ack of server events nor the VIM command receiver', async () => {
    const { vim, fake, rxUrl, agent } = await setUp();
    vim.override = () => ({ type: 'hang' });
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const res = await fake.post(rxUrl, [fake.event('loss', { uuid: U, correctiveAction: 'log' })]);
      expect(res.status).toBe(200);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
    // 20 losses of one instance: one in flight (hung), the latest waiting (alarms of a kind coalesce per instance).
    expect(agent.outbox.size).toBe(2);
  });
});

describe('VIM outage', () => {
  it('keeps events while the VIM is down and delivers the latest state of each instance after backoff once it is back', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const fake = new FakeServer('compute-0');
    const { rxUrl, agent, clock } = await startAgent({ vimEventUrl: vim.url });
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    agent.update((inv) => inv.addInstance('compute-0', U, true));
    await vim.down();
    const running = fake.event('running', { instance: fake.info(U, { reporting: 'enabled', heartbeating: 'enabled' }) });
    const stopped = fake.event('stopped', { instance: fake.info(U, { reporting: 'enabled' }), reason: 'exit' });
    await fake.post(rxUrl, [running, stopped]);
    const metrics = (): Promise<string> => fetch(`${rxUrl}/metrics`).then((r) => r.text());
    await expect.poll(metrics).toContain('guest_agent_vim_events_total{kind="service",outcome="retry"} 1');
    // "running" was being sent when "stopped" came: it failed and, superseded, left the queue (issue 12 item 3).
    expect(agent.outbox.size).toBe(1);
    await vim.up();
    (clock as ManualClock).advance(500); // first retry after 500 ms (random 0.5: no jitter offset)
    await agent.whenIdle();
    expect(vim.events('service').map((r) => (r.json as { 'event-data': { services: { status: string }[] } })['event-data'].services[0]?.status)).toEqual(['disabled']);
  });

  it('a hung VIM does not slow the command receiver', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    vim.override = () => ({ type: 'hang' });
    const fake = new FakeServer('compute-0');
    const { rxUrl, agent, vimPort } = await startAgent({ vimEventUrl: vim.url });
    agent.update((inv) => inv.addHost(H, 'compute-0'));
    agent.update((inv) => inv.addInstance('compute-0', U, true));
    for (let i = 0; i < 10; i++) await fake.post(rxUrl, [fake.event('loss', { uuid: U, correctiveAction: 'log' })]);
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${vimPort}/v1/instances/${U}`, { headers: { 'user-agent': 'vim/1.0' } });
      expect(res.status).toBe(200);
    }
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
