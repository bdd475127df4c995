/**
 * Recovery after an agent restart (kill -9, controller swact): the VIM does not repeat H1/I1, so the
 * agent learns its hosts from H5's body and from the servers' events, and its VIM audit (A, B) then
 * rebuilds the inventory. Real listeners on port 0, ManualClock for the audits.
 */
import { describe, expect, it } from 'vitest';
import { rawRequest, vimLike } from './helpers/agent-harness.js';
import { startHostFixture, type HostFixture } from './helpers/host-fixture.js';
import { VIM_BODY_LIMIT_BYTES } from '../src/vim-app.js';

const H = '11111111-1111-1111-1111-111111111111';
const A = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-cccc-cccc-cccccccccccc';

function setUp(): Promise<HostFixture> {
  return startHostFixture(H, [[A, 'enabled'], [B, 'disabled']]);
}

const h5 = (body: string | undefined): string => vimLike('GET', `/v1/hosts/${H}/disable`, body);

describe('agent restart: H5 teaches the host', () => {
  it('an unknown host in H5 (body {uuid, hostname}) is learned: 404 as the original, then the VIM audit restores it and H5 answers', async () => {
    const { vim, handle } = await setUp();
    const first = await rawRequest(handle.vimPort, h5(`{"uuid":"${H}","hostname":"compute-0"}`));
    expect(first.status).toBe(404);
    expect(JSON.parse(first.body)).toMatchObject({ code: 'GA_ERR_NOT_FOUND', message: expect.stringContaining('learned') as unknown });
    expect(handle.agent.inventory.hostByName('compute-0')).toMatchObject({ uuid: H, reportingFromVim: false, listedByVim: false });
    await handle.agent.auditNow();
    expect(handle.agent.inventory.hostByName('compute-0')).toMatchObject({ reporting: true, reportingFromVim: true, listedByVim: true });
    const again = await rawRequest(handle.vimPort, h5(`{"uuid":"${H}","hostname":"compute-0"}`));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ uuid: H, hostname: 'compute-0', state: 'enabled' });
    for (const uuid of [A, B]) {
      const i4 = await rawRequest(handle.vimPort, vimLike('GET', `/v1/instances/${uuid}`, undefined));
      expect(i4.status).toBe(200);
    }
    expect(vim.records.map((r) => r.path)).toEqual([`/nfvi-plugins/v1/hosts/${H}`, `/nfvi-plugins/v1/instances/?host_uuid=${H}`]);
  });

  it('H5 without a usable body stays 404 and learns nothing; an oversized GET body is 413', async () => {
    const { handle } = await setUp();
    for (const body of [undefined, '{"uuid":', '{"uuid":"x"}']) {
      const reply = await rawRequest(handle.vimPort, h5(body));
      expect(reply.status).toBe(404);
    }
    expect(handle.agent.inventory.hostCount).toBe(0);
    const big = await rawRequest(handle.vimPort, h5(`{"hostname":"${'x'.repeat(VIM_BODY_LIMIT_BYTES)}"}`));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ reason: 'no buffer', code: 'GA_ERR_PARSE' });
    const chunked = `GET /v1/hosts/${H}/disable HTTP/1.1\r\nHost: x\r\nUser-Agent: vim/1.0\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`
      + `${'10000'}\r\n${'y'.repeat(0x10000)}\r\n1\r\nz\r\n0\r\n\r\n`;
    expect((await rawRequest(handle.vimPort, chunked)).status).toBe(413);
    expect(handle.agent.inventory.hostCount).toBe(0);
  });
});

describe('agent restart: the servers teach hosts and instances', () => {
  it('server-ready of an unknown host: learned by hostname, VIM audit skipped until the VIM names its uuid (H5 or H2)', async () => {
    const { vim, server, handle } = await setUp();
    const { agent } = handle;
    await server.post(handle.rxUrl, [server.ready()]);
    expect(agent.inventory.hostByName('compute-0')).toMatchObject({ uuid: undefined, reportingFromVim: false });
    await agent.auditNow();
    expect(vim.records).toEqual([]); // no uuid: neither A nor B
    // A server that monitors C, which the agent does not know: nothing deleted before audit B.
    server.hostReporting = 'enabled';
    server.instances.set(C, server.info(C, { reporting: 'enabled', heartbeating: 'enabled' }));
    await agent.auditNow();
    await agent.whenIdle();
    expect(server.instances.has(C)).toBe(true);
    expect(server.commands.filter((c) => c.method === 'PUT' || c.method === 'DELETE')).toEqual([]);
    // H2 names the uuid; the VIM audit then runs and the VIM's list decides: C is not listed → deleted.
    const h2 = await rawRequest(handle.vimPort, vimLike('PUT', `/v1/hosts/${H}/enable`, `{"uuid":"${H}","hostname":"compute-0"}`));
    expect(h2.status).toBe(200);
    expect(agent.inventory.hostByName('compute-0')).toMatchObject({ uuid: H, reporting: true, reportingFromVim: true });
    await agent.auditNow(); // audit B (lists A, B); server audit may run before or after it
    await agent.auditNow();
    await agent.whenIdle();
    expect(agent.inventory.hostByName('compute-0')?.listedByVim).toBe(true);
    expect(server.instances.has(C)).toBe(false);
    expect([...server.instances.keys()].sort()).toEqual([A, B]);
  });

  it('a loss for an unknown instance raises the failed alarm with its action; audit B keeps it when the VIM lists it', async () => {
    const { vim, server, handle } = await setUp();
    const { agent } = handle;
    await server.post(handle.rxUrl, [server.ready(), server.event('loss', { uuid: A, correctiveAction: 'reboot' })]);
    await agent.whenIdle();
    const alarms = vim.events('alarm');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.json).toMatchObject({ uuid: A, hostname: 'compute-0', 'event-data': { services: [{ state: 'failed', 'repair-action': 'reboot' }] } });
    const i4 = await rawRequest(handle.vimPort, vimLike('GET', `/v1/instances/${A}`, undefined));
    expect(i4.status).toBe(200);
    await rawRequest(handle.vimPort, h5(`{"uuid":"${H}","hostname":"compute-0"}`));
    await agent.auditNow();
    expect(agent.inventory.instance(A)).toMatchObject({ fromServer: false, reporting: true });
    expect(agent.inventory.instance(B)?.reporting).toBe(false);
  });
});
