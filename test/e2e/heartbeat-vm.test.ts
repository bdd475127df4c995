/**
 * Real-VM end-to-end test (issue 8 item 1): a real QEMU creates the heartbeat channel as libvirt does, the
 * guest inside runs a v3 responder, and guest-server, guest-agent and a test VIM run as real processes.
 *   heartbeating starts (the VIM sees the service enabled) → a VIM vote is answered by the guest → QMP stop pauses the VM → the loss is detected
 *   and the failed alarm reaches the VIM → QMP cont → heartbeating resumes after the guest re-inits →
 *   QEMU killed → EOF, heartbeating reported stopped, the channel file removed (as libvirt does) → the VIM
 *   deletes the instance → guest-agent and guest-server forget it; neither daemon crashed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceQueryReply } from '@guesthb/protocol';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, missingDaemons, type Daemon } from '../helpers/daemon.js';
import { startGuestAgent, startGuestServer } from './helpers/daemons.js';
import { buildGuestImage, missingPrerequisites } from './helpers/guest-image.js';
import { QemuVm } from './helpers/qemu.js';
import { VimClient, VimListener } from './helpers/vim-listener.js';
import { waitFor, waitForValue } from '../helpers/wait.js';

const HOSTNAME = 'compute-0';
const INTERVAL_MS = 1000;
const FAILURE_THRESHOLD = 1;
const BOOT_TIMEOUT_MS = 45_000;

async function queryServer(port: number): Promise<InstanceQueryReply> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/instances`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`guest-server GET /v1/instances: ${res.status}`);
  return (await res.json()) as InstanceQueryReply;
}

/** Diagnostics for a failure: the tail of every daemon log and of the guest console. */
async function withLogs<T>(work: Promise<T>, daemons: readonly Daemon[], vm?: QemuVm): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const logs = await Promise.all(daemons.map(async (d) => `--- ${d.name}\n${await d.log()}`));
    const console = vm === undefined ? '' : `--- guest console\n${(await vm.console()).slice(-2000)}`;
    throw new Error(`${String(error)}\n${logs.join('\n')}\n${console}`);
  }
}

describe('real VM end to end: QEMU guest ↔ guest-server ↔ guest-agent ↔ VIM', () => {
  it('reports heartbeating, a loss while paused, the resumption and the cleanup after QEMU is killed', async () => {
    // Never skipped: missing pieces fail the test with the command that provides them.
    expect([...missingPrerequisites(), ...missingDaemons()]).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'e2e-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const channelDir = join(dir, 'qemu');
    await mkdir(channelDir);
    const image = await buildGuestImage(dir);

    const vim = await VimListener.start();
    onTestFinished(() => vim.close());
    const hostUuid = randomUUID();
    const uuid = randomUUID();
    vim.hosts.push({ uuid: hostUuid, hostname: HOSTNAME });
    vim.instances.push({ uuid, hostname: HOSTNAME });

    const [agentPort, vimCmdPort, serverPort] = [await freePort(), await freePort(), await freePort()];
    const agent = await startGuestAgent({ dir, port: agentPort, vimCmdPort, vimEventUrl: vim.url });
    onTestFinished(() => agent.stop().then(() => undefined));
    const server = await startGuestServer({
      dir, channelDir, agentUrl: `http://127.0.0.1:${agentPort}`, hostname: HOSTNAME, port: serverPort,
    });
    onTestFinished(() => server.stop().then(() => undefined));
    const daemons = [agent, server];
    await withLogs(Promise.all([agent.waitHealthy(), server.waitHealthy()]), daemons);

    // The VIM provisions the host and the instance (vim-guest-api.md §1.2 H1, H2, I1, I2).
    const vimClient = new VimClient(`http://127.0.0.1:${vimCmdPort}`);
    const hostBody = { uuid: hostUuid, hostname: HOSTNAME };
    expect((await vimClient.call('POST', `/v1/hosts/${hostUuid}`, hostBody)).status).toBe(200);
    expect((await vimClient.call('PUT', `/v1/hosts/${hostUuid}/enable`, hostBody)).status).toBe(200);
    const created = await vimClient.call('POST', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: ['heartbeat'] });
    expect(created.status).toBe(200);
    const enabled = await vimClient.call('PATCH', `/v1/instances/${uuid}`, {
      uuid, hostname: HOSTNAME, services: [{ service: 'heartbeat', state: 'enabled' }],
    });
    expect(enabled.status).toBe(200);

    // The VM: QEMU creates DIR/cgcs.heartbeat.<uuid>.sock; guest-server discovers it and connects.
    const vm = await QemuVm.start({ dir: channelDir, uuid, image, heartbeatIntervalMs: INTERVAL_MS, correctiveAction: 'reboot' });
    onTestFinished(() => vm.close());
    const t0 = performance.now();

    // 1. Heartbeating starts: the VIM sees the service enabled, and the agent answers I4 with status enabled.
    const started = await withLogs(vm.whileBooting(waitForValue(
      () => vim.events(uuid, 'service').find((e) => e.service.status === 'enabled'),
      BOOT_TIMEOUT_MS, 'the VIM to see heartbeat status enabled',
    )), daemons, vm);
    console.log(`e2e: heartbeating reported to the VIM ${Math.round(started.atMs - t0)} ms after QEMU start`);
    const query = await vimClient.call('GET', `/v1/instances/${uuid}`);
    expect(query).toMatchObject({ status: 200, body: { uuid, services: [{ service: 'heartbeat', state: 'enabled', status: 'enabled' }] } });
    await withLogs(waitFor(async () => (await queryServer(serverPort)).instances.some(
      (i) => i.uuid === uuid && i.reporting === 'enabled' && i.heartbeating === 'enabled',
    ), 10_000, 'guest-server to report the instance heartbeating with reporting enabled'), daemons, vm);

    // A vote (I5) reaches the guest through agent and server; the guest's accept comes back as `allow` (§2.2 F).
    const vote = await vimClient.call('POST', `/v1/instances/${uuid}/vote`, { uuid, hostname: HOSTNAME, action: 'stop' });
    expect(vote.status).toBe(200);
    expect(String((vote.body as { timeout?: unknown }).timeout)).toBe('9'); // the guest's vote_secs
    const allowed = await withLogs(waitForValue(
      () => vim.requests.find((r) => r.method === 'PATCH' && (r.body as { 'event-type'?: string })['event-type'] === 'action'),
      10_000, 'the guest\'s vote at the VIM',
    ), daemons, vm);
    expect(allowed.body).toMatchObject({ uuid, 'event-type': 'action', 'event-data': { action: 'stop', 'guest-response': 'allow' } });

    // 2. QMP stop: the guest goes silent; the loss is declared and the failed alarm reaches the VIM.
    const alarmsBefore = vim.events(uuid, 'alarm').length;
    await vm.qmp.execute('stop');
    const stoppedAt = performance.now();
    expect(await vm.qmp.status()).toBe('paused');
    const alarm = await withLogs(waitForValue(
      () => vim.events(uuid, 'alarm').slice(alarmsBefore).find((e) => e.service.state === 'failed'),
      15_000, 'the failed alarm at the VIM',
    ), daemons, vm);
    const detectionMs = alarm.atMs - stoppedAt;
    console.log(`e2e: failed alarm at the VIM ${Math.round(detectionMs)} ms after QMP stop`);
    expect(alarm.service).toMatchObject({ service: 'heartbeat', state: 'failed', 'repair-action': 'reboot' });
    // From the moment it stopped, the bound is (threshold + 1) × interval plus one interval; 2 s of slack
    // for delivery on a loaded CI machine.
    expect(detectionMs).toBeLessThan((FAILURE_THRESHOLD + 2) * INTERVAL_MS + 2_000);
    const disabled = await waitForValue(
      () => vim.events(uuid, 'service').find((e) => e.atMs > started.atMs && e.service.status === 'disabled'),
      5_000, 'the VIM to see heartbeat status disabled',
    );
    expect(disabled.atMs).toBeGreaterThan(stoppedAt);

    // 3. QMP cont: the guest's challenge timeout (max(2 × interval, 5 s) of its own time) → new init → heartbeating again.
    await vm.qmp.execute('cont');
    const contAt = performance.now();
    const resumed = await withLogs(waitForValue(
      () => vim.events(uuid, 'service').find((e) => e.atMs > contAt && e.service.status === 'enabled'),
      20_000, 'heartbeating to resume after cont',
    ), daemons, vm);
    console.log(`e2e: heartbeating resumed ${Math.round(resumed.atMs - contAt)} ms after QMP cont`);
    expect((await vm.console())).toContain('E2E-GUEST challenge timeout');
    // One loss, one alarm: nothing was reported twice.
    expect(vim.events(uuid, 'alarm').filter((e) => e.service.state === 'failed')).toHaveLength(alarmsBefore + 1);

    // 4. QEMU killed: EOF on the channel → heartbeating stops; the socket file left behind by SIGKILL
    //    is removed as libvirt does when it tears the domain down → the instance's channel is gone.
    // The time is taken before the kill: EOF → guest-server → guest-agent → VIM can finish before the
    // child's exit event resolves kill().
    const killedAt = performance.now();
    await vm.kill('SIGKILL');
    await withLogs(waitForValue(
      () => vim.events(uuid, 'service').find((e) => e.atMs > killedAt && e.service.status === 'disabled'),
      10_000, 'the VIM to see heartbeat status disabled after QEMU was killed',
    ), daemons, vm);
    await rm(vm.channelPath, { force: true });
    expect(existsSync(vm.channelPath)).toBe(false);
    const afterKill = (await queryServer(serverPort)).instances.find((i) => i.uuid === uuid);
    expect(afterKill?.heartbeating).toBe('disabled');
    // The VIM deletes the guest services with the instance (I3): gone from the agent and from guest-server.
    expect((await vimClient.call('DELETE', `/v1/instances/${uuid}`)).status).toBe(204);
    expect((await vimClient.call('GET', `/v1/instances/${uuid}`)).status).toBe(404);
    await withLogs(waitFor(
      async () => !(await queryServer(serverPort)).instances.some((i) => i.uuid === uuid),
      10_000, 'guest-server to forget the instance',
    ), daemons, vm);

    // Nothing crashed: both daemons still run and answer.
    expect(agent.exit).toBeUndefined();
    expect(server.exit).toBeUndefined();
    expect(await agent.isHealthy()).toBe(true);
    expect(await server.isHealthy()).toBe(true);
    // And both stop cleanly on SIGTERM, having logged no error on the way.
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    expect(await server.errorLines()).toEqual([]);
    expect(await agent.errorLines()).toEqual([]);
  }, 150_000);
});
