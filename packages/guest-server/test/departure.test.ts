/**
 * Departure and return end to end (issue 14 items 2, 3): the in-process guest-server and a real guest-client
 * (simulation mode, a child process) that is frozen with SIGSTOP while paused, as QEMU's `stop` freezes a VM
 * with its socket connected. The VIM's `unpause` notify must reach the returning guest.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ActionAcceptedSchema, channelFileName } from '@guesthb/protocol';
import { UUID_A, api, startAgent, startServer, tempDir, until } from './helpers/harness.js';

const GUEST_CLIENT_BIN = fileURLToPath(new URL('../../guest-client/dist/bin.js', import.meta.url));

async function startSimulatedGuest(dir: string): Promise<{ stop(): void; cont(): void }> {
  const conf = join(dir, 'guest_heartbeat.conf');
  // 400 ms heartbeat; a resume notice of 8 s (+1 on the wire).
  await writeFile(conf, 'HB_INTERVAL=400\nRESUME_NOTICE=8\nSUSPEND_NOTICE=8\n');
  const child = spawn(process.execPath, [GUEST_CLIENT_BIN, '--listen', dir, '--uuid', UUID_A, '--config', conf, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  onTestFinished(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  await until(() => existsSync(join(dir, channelFileName(UUID_A))), 10_000, 'the simulated guest socket');
  return { stop: () => child.kill('SIGSTOP'), cont: () => child.kill('SIGCONT') };
}

describe('pause and unpause with a frozen guest', () => {
  it('keeps the session through a pause: no STOPPED, no loss while frozen, and unpause reaches the guest', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startSimulatedGuest(dir);
    const server = await startServer({ dir, agentUrl: agent.url });
    await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 10_000, 'running');

    const pause = await api(server, 'POST', `/v1/instances/${UUID_A}/notify`, { event: 'pause' });
    expect(ActionAcceptedSchema.parse(pause.body)).toMatchObject({ event: 'pause', timeoutMs: 9000 });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result' && e.eventType === 'pause'), 5000, 'pause result');
    expect(agent.of('vote-result')[0]).toMatchObject({ eventType: 'pause', vote: 'complete' });

    // The VM is paused: frozen for ten heartbeat intervals, far past the loss threshold.
    guest.stop();
    await new Promise((r) => setTimeout(r, 4000));
    guest.cont();
    // The VIM sends unpause right after the event; the agent still sees the service enabled, so it forwards it.
    const unpause = await api(server, 'POST', `/v1/instances/${UUID_A}/notify`, { event: 'unpause' });
    expect(ActionAcceptedSchema.parse(unpause.body)).toMatchObject({ event: 'unpause', timeoutMs: 9000 });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result' && e.eventType === 'unpause'), 10_000, 'unpause result');
    expect(agent.of('vote-result').find((e) => e.eventType === 'unpause')).toMatchObject({ vote: 'complete', notificationType: 'irrevocable' });

    // The guest re-inits on its own (no challenges while paused) and the heartbeat goes on.
    const info = async (): Promise<unknown> => (await api(server, 'GET', '/v1/instances')).body;
    await expect.poll(info, { timeout: 10_000, interval: 200 }).toMatchObject({ instances: [expect.objectContaining({ uuid: UUID_A, heartbeating: 'enabled' })] });
    expect(agent.of('stopped')).toHaveLength(0);
    expect(agent.of('loss')).toHaveLength(0);
  });

  it('an unpause sent while the guest is still frozen waits in the channel and is answered after SIGCONT', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startSimulatedGuest(dir);
    const server = await startServer({ dir, agentUrl: agent.url });
    await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 10_000, 'running');
    await api(server, 'POST', `/v1/instances/${UUID_A}/notify`, { event: 'pause' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result' && e.eventType === 'pause'), 5000, 'pause result');
    guest.stop();
    await new Promise((r) => setTimeout(r, 1500));
    const unpause = await api(server, 'POST', `/v1/instances/${UUID_A}/notify`, { event: 'unpause' });
    expect(ActionAcceptedSchema.parse(unpause.body).timeoutMs).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(agent.of('vote-result').filter((e) => e.eventType === 'unpause')).toHaveLength(0);    // frozen: no answer yet
    guest.cont();
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result' && e.eventType === 'unpause'), 10_000, 'unpause result');
    expect(agent.of('vote-result').find((e) => e.eventType === 'unpause')).toMatchObject({ vote: 'complete' });
    expect(agent.of('stopped')).toHaveLength(0);
    expect(agent.of('loss')).toHaveLength(0);
  });
});
