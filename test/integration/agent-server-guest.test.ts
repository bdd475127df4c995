/**
 * Issue 4 item 8: guest-agent and guest-server as real processes over real sockets, a simulated guest on
 * DIR/cgcs.heartbeat.<uuid>.sock as QEMU offers it, and the test VIM listener with the real VIM's quirks.
 * The VIM provisions host and instance; then: a vote the guest rejects reaches the VIM as `reject`; an
 * unhealthy guest raises the unhealthy alarm; a guest that stops answering raises the failed alarm with
 * its corrective action.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedGuest } from '@guesthb/guest-client';
import type { VimRecord } from '../../packages/guest-agent/test/helpers/fake-vim.js';
import { startProvisionedChain, vimCall } from './helpers/processes.js';

const HOST_UUID = '11111111-1111-1111-1111-111111111111';
const UUID = '4a7c0f3e-8d2b-4c61-9e5a-0b1c2d3e4f50';
const HOSTNAME = 'compute-0';

type EventData = { services?: { state?: string; status?: string; 'repair-action'?: string }[]; action?: string; 'guest-response'?: string };
const data = (r: VimRecord): EventData => ((r.json as { 'event-data'?: EventData } | undefined)?.['event-data'] ?? {});
const isEvent = (type: string) => (r: VimRecord): boolean => r.method === 'PATCH' && r.path === `/nfvi-plugins/v1/instances/${UUID}`
  && (r.json as { 'event-type'?: string } | undefined)?.['event-type'] === type;

describe('guest-agent ↔ guest-server ↔ guest, real processes', () => {
  it('carries a rejected vote, an unhealthy report and a heartbeat loss to the VIM', async () => {
    // The VIM provisions the host and the instance, as its host and instance FSMs do (vim §1.4).
    const { channelDir, vim, ports, agent, report } = await startProvisionedChain('gi-', { hostUuid: HOST_UUID, uuid: UUID, hostname: HOSTNAME });

    const guest = new SimulatedGuest({
      dir: channelDir, uuid: UUID,
      config: { heartbeatIntervalMs: 400, correctiveAction: 'reboot', voteSecs: 5 },
      faults: { vote: 'reject' },
    });
    onTestFinished(() => guest.close());
    await guest.start();

    // Heartbeat established: the VIM hears status enabled.
    const running = await vim.waitFor((r) => isEvent('service')(r) && data(r).services?.[0]?.status === 'enabled', 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });
    expect(data(running).services?.[0]).toMatchObject({ state: 'enabled', status: 'enabled' });

    // A vote: the agent answers at once with the guest's vote timeout; the guest's reject reaches the VIM.
    // The running event carried the guest's timeouts, so the reply has its vote_secs (+1 as the client sends).
    const vote = await vimCall(ports.vim, 'POST', `/v1/instances/${UUID}/vote`, { uuid: UUID, hostname: HOSTNAME, action: 'stop' });
    expect(vote.status).toBe(200);
    expect(JSON.parse(vote.text)).toEqual({ uuid: UUID, hostname: HOSTNAME, action: 'stop', timeout: '6' });
    const rejected = await vim.waitFor((r) => isEvent('action')(r) && data(r)['guest-response'] === 'reject', 15_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });
    expect(data(rejected)).toMatchObject({ action: 'stop', 'guest-response': 'reject' });
    expect((rejected.json as Record<string, unknown>)['hostname']).toBeUndefined();

    // Ill health: the unhealthy alarm with the guest's unhealthy action.
    guest.setHealth('unhealthy', 'stop', 'disk full');
    const unhealthy = await vim.waitFor((r) => isEvent('alarm')(r) && data(r).services?.[0]?.state === 'unhealthy', 15_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });
    expect(data(unhealthy).services?.[0]).toMatchObject({ state: 'unhealthy', 'repair-action': 'stop' });
    guest.setHealth('healthy');

    // The guest stops answering: the failed alarm with the corrective action from its init.
    guest.stopAnswering();
    const failed = await vim.waitFor((r) => isEvent('alarm')(r) && data(r).services?.[0]?.state === 'failed', 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${report()}`); });
    expect(failed.json).toEqual({
      uuid: UUID, hostname: HOSTNAME, 'event-type': 'alarm',
      'event-data': { services: [{ service: 'heartbeat', state: 'failed', 'repair-action': 'reboot' }] },
    });
    // Every request reached the VIM with Content-Length, never chunked.
    for (const r of vim.records.filter((x) => x.method === 'PATCH')) {
      expect(r.headers['transfer-encoding']).toBeUndefined();
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    }
    expect(await agent.stop()).toBe(0);
  }, 90_000);
});
