/**
 * guest-agent recovers its inventory after kill -9 (or a controller swact), as real processes: the VIM
 * does not repeat H1/I1, so the restarted agent learns the host from the server's re-announcement and
 * the VIM's host audit (H5, a GET with a body), the instances from the server's events, and rebuilds
 * everything with its VIM audit (A, B). A guest lost while the agent was dead still gets exactly one
 * failed alarm, and the server's monitoring of the other guests is never deleted meanwhile.
 */
import { request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedGuest } from '@guesthb/guest-client';
import { HOST_UUID, HOSTNAME, Stack, isFailedAlarm, isHeartbeatEnabled, isVimEvent, metricsOf, uuidOf, type VimRecord } from './helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL_MS = 400;
const GUESTS = 4;

/** A VIM call as the VIM sends it (a GET may carry a body, which fetch cannot send). */
function vimCall(port: number, method: string, path: string, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'vim/1.0', 'content-type': 'application/json', connection: 'close' };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('VIM call timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const stateOf = (r: VimRecord): { status?: string; 'repair-action'?: string } | undefined =>
  (r.json as { 'event-data'?: { services?: { status?: string; 'repair-action'?: string }[] } } | undefined)?.['event-data']?.services?.[0];

describe('guest-agent kill -9 and restart: the inventory is rebuilt', () => {
  it('a loss during the outage reaches the VIM once, nothing is deleted on the server, and I4 answers for every instance', async () => {
    const stack = await Stack.create({ auditSecs: 1 });
    await stack.startAgent();
    await stack.startServer();
    const uuids = Array.from({ length: GUESTS }, (_, i) => uuidOf(0x300 + i));
    await stack.provision(uuids);
    const guests: SimulatedGuest[] = [];
    for (const uuid of uuids) {
      const guest = new SimulatedGuest({ dir: stack.channelDir, uuid, config: { heartbeatIntervalMs: INTERVAL_MS, correctiveAction: 'reboot' } });
      onTestFinished(() => guest.close());
      await guest.start();
      guests.push(guest);
    }
    for (const uuid of uuids) await stack.vim.waitFor((r) => isHeartbeatEnabled(r, uuid), 20_000);
    const [victim, ...healthy] = guests;
    const victimUuid = uuids[0] ?? '';
    if (victim === undefined) throw new Error('no guest');

    // The agent dies; meanwhile the victim stops answering and the server holds its loss.
    await stack.agent?.kill9();
    const recordsBefore = stack.vim.records.length;
    victim.stopAnswering();
    await waitFor(async () => (await stack.serverMetrics()).get('guest_server_losses_total') === 1, 10_000, 'the loss at the server', () => stack.report());

    // The VIM is slow to list the host's instances (audit B fails at first), so the agent knows the host
    // but not its instances while several server audits run: they must delete nothing.
    stack.vim.override = (r) => (r.method === 'GET' && r.path.startsWith('/nfvi-plugins/v1/instances') ? { type: 'no-reply' } : undefined);
    // Same ports, empty inventory. The VIM's periodic host audit (H5) names the host.
    const restartedAt = performance.now();
    await stack.startAgent();
    const h5 = await vimCall(stack.ports.vim, 'GET', `/v1/hosts/${HOST_UUID}/disable`, JSON.stringify({ uuid: HOST_UUID, hostname: HOSTNAME }));
    expect(h5.status).toBe(404); // the first the agent hears of the host: the original's answer, but the host is learned
    const agentMetric = async (name: string): Promise<number> => (await metricsOf(`${stack.agentUrl}/metrics`)).get(name) ?? 0;
    await waitFor(async () => (await agentMetric('guest_agent_audit_runs_total{audit="server",outcome="ok"}')) >= 3
      && (await agentMetric('guest_agent_audit_runs_total{audit="vim-host-instances",outcome="error"}')) >= 2, 15_000, 'server audits before audit B', () => stack.report());
    stack.vim.override = undefined;

    // The held loss reaches the VIM as one failed alarm with the guest's corrective action.
    const alarm = await stack.vim.waitFor((r) => isFailedAlarm(r, victimUuid), 20_000);
    expect(stateOf(alarm)?.['repair-action']).toBe('reboot');

    // After the agent's VIM audit (A, B) the agent answers I4 for every instance again.
    await waitFor(async () => {
      const replies = await Promise.all(uuids.map((uuid) => vimCall(stack.ports.vim, 'GET', `/v1/instances/${uuid}`, undefined)));
      return replies.every((r) => r.status === 200);
    }, 15_000, 'I4 200 for every instance', () => stack.report());
    const hostState = await vimCall(stack.ports.vim, 'GET', `/v1/hosts/${HOST_UUID}/disable`, JSON.stringify({ uuid: HOST_UUID, hostname: HOSTNAME }));
    expect({ status: hostState.status, body: JSON.parse(hostState.text) as unknown }).toEqual({ status: 200, body: { uuid: HOST_UUID, hostname: HOSTNAME, state: 'enabled' } });

    // Let a few server audits run after recovery, then check that nothing was wiped.
    const audits = (): Promise<number> => agentMetric('guest_agent_audit_runs_total{audit="server",outcome="ok"}');
    const auditsNow = await audits();
    await waitFor(async () => (await audits()) >= auditsNow + 2, 10_000, 'two more server audits', () => stack.report());
    const listed = await (await fetch(`${stack.serverUrl}/v1/instances`)).json() as { instances: { uuid: string; heartbeating: string }[] };
    expect(listed.instances.map((i) => i.uuid).sort()).toEqual([...uuids].sort());
    const served = await Promise.all(healthy.map(async (g) => g.stats.responsesSent));
    await waitFor(() => healthy.every((g, i) => g.stats.responsesSent >= (served[i] ?? 0) + 3), 10_000, 'healthy guests still heartbeating', () => stack.report());
    expect(healthy.every((g) => g.stats.connections === 1)).toBe(true);

    const after = stack.vim.records.slice(recordsBefore);
    expect(stack.vim.records.filter((r) => isFailedAlarm(r)).map((r) => (r.json as { uuid: string }).uuid)).toEqual([victimUuid]);
    // No healthy guest was reported stopped (its monitoring was never deleted).
    const healthyUuids = new Set(uuids.slice(1));
    expect(after.filter((r) => isVimEvent(r, 'service') && healthyUuids.has((r.json as { uuid: string }).uuid) && stateOf(r)?.status === 'disabled')).toEqual([]);
    const agentMetrics = await metricsOf(`${stack.agentUrl}/metrics`);
    expect(agentMetrics.get('guest_agent_server_commands_total{command="delete-instance",outcome="ok"}') ?? 0).toBe(0);
    expect(performance.now() - restartedAt).toBeLessThan(40_000);
  }, 90_000);
});
