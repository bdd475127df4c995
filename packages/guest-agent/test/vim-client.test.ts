/** The event transmitter's HTTP edge against a real test VIM listener with the real VIM's quirks (vim §2.1). */
import { Agent } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createVimClient, type VimEvent } from '../src/index.js';
import { FakeVim } from './helpers/fake-vim.js';

const U = '22222222-2222-2222-2222-222222222222';
const H = '11111111-1111-1111-1111-111111111111';

async function setUp(timeoutMs = 2_000): Promise<{ vim: FakeVim; client: ReturnType<typeof createVimClient> }> {
  const vim = new FakeVim({
    hosts: new Map([['compute-0', { uuid: H, state: 'enabled' }]]),
    hostInstances: new Map([[H, [{ uuid: U, hostname: 'compute-0', state: 'enabled' }]]]),
  });
  await vim.start();
  onTestFinished(() => vim.close());
  const dispatcher = new Agent();
  onTestFinished(() => dispatcher.destroy());
  return { vim, client: createVimClient({ baseUrl: vim.url, dispatcher, timeoutMs }) };
}

const service: VimEvent = { kind: 'service', uuid: U, hostname: 'compute-0', state: 'enabled', status: 'enabled', restartTimeout: '120' };
const failed: VimEvent = { kind: 'alarm-failed', uuid: U, hostname: 'compute-0', repairAction: 'reboot' };

describe('VIM client', () => {
  it('sends a service event with Content-Length, the agent User-Agent and Connection: close; no reply counts as delivered', async () => {
    const { vim, client } = await setUp();
    expect(await client.sendEvent(service)).toBe('no-reply');
    const [record] = vim.records;
    expect(record?.method).toBe('PATCH');
    expect(record?.path).toBe(`/nfvi-plugins/v1/instances/${U}`);
    expect(record?.body).toBe(`{"uuid":"${U}","hostname":"compute-0","event-type":"service","event-data":{"services":[{"service":"heartbeat","state":"enabled","status":"enabled","restart-timeout":"120"}]}}`);
    expect(record?.headers).toMatchObject({
      'content-length': String(record?.body.length), 'user-agent': 'guest-agent/1.0', 'content-type': 'application/json', connection: 'close',
    });
    expect(record?.headers['transfer-encoding']).toBeUndefined();
  });

  it('reads the HTTP/1.0 alarm reply without Content-Length as delivered (and ignores its admin_state shape)', async () => {
    const { vim, client } = await setUp();
    expect(await client.sendEvent(failed)).toBe('delivered');
    expect(vim.records[0]?.json).toEqual({
      uuid: U, hostname: 'compute-0', 'event-type': 'alarm', 'event-data': { services: [{ service: 'heartbeat', state: 'failed', 'repair-action': 'reboot' }] },
    });
  });

  it('asks for a retry when the VIM is down, slow, or answers 5xx; a 4xx status is a rejection', async () => {
    const { vim, client } = await setUp(200);
    vim.override = () => ({ type: 'reply', status: 500 });
    expect(await client.sendEvent(failed)).toBe('retry');
    vim.override = () => ({ type: 'reply', status: 404 });
    expect(await client.sendEvent(failed)).toBe('rejected');
    vim.override = () => ({ type: 'hang' });
    expect(await client.sendEvent(failed)).toBe('retry');
    vim.override = undefined;
    await vim.down();
    expect(await client.sendEvent(failed)).toBe('retry');
  });

  it('waits for a slow VIM within the timeout', async () => {
    const { vim, client } = await setUp(2_000);
    vim.delayMs = 300;
    expect(await client.sendEvent(failed)).toBe('delivered');
    expect(await client.sendEvent(service)).toBe('no-reply');
  });

  it('queries the host state with a body on the GET (A), and fails on the VIM\'s silent 400 for an unknown host', async () => {
    const { vim, client } = await setUp();
    expect(await client.getHostState(H, 'compute-0')).toBe('enabled');
    expect(vim.records[0]).toMatchObject({ method: 'GET', path: `/nfvi-plugins/v1/hosts/${H}`, body: `{"hostname": "compute-0","uuid":"${H}"}` });
    await expect(client.getHostState(H, 'compute-7')).rejects.toMatchObject({ code: 'GA_ERR_VIM_STATUS' });
  });

  it('reads a missing or odd host state as disabled (daemons §5.3a)', async () => {
    const { vim, client } = await setUp();
    vim.override = () => ({ type: 'reply', status: 200, body: '{"uuid":"x","hostname":"compute-0"}' });
    expect(await client.getHostState(H, 'compute-0')).toBe('disabled');
    vim.override = () => ({ type: 'reply', status: 200, body: 'not json' });
    await expect(client.getHostState(H, 'compute-0')).rejects.toMatchObject({ code: 'GA_ERR_VIM_STATUS' });
  });

  it('lists a host\'s instances (B) and fails on a missing instances key', async () => {
    const { vim, client } = await setUp();
    const reply = await client.getHostInstances(H);
    expect(reply.instances).toEqual([{ uuid: U, hostname: 'compute-0', services: [{ service: 'heartbeat', state: 'enabled' }] }]);
    expect(vim.records[0]).toMatchObject({ method: 'GET', path: `/nfvi-plugins/v1/instances/?host_uuid=${H}`, body: '' });
    vim.override = () => ({ type: 'reply', status: 200, body: '{}' });
    await expect(client.getHostInstances(H)).rejects.toMatchObject({ code: 'GA_ERR_VIM_STATUS' });
  });
});
