/**
 * guest-server across restarts (issue 12 items 1, 2, 6, 7), in process over real sockets and a real journal
 * in a temp state directory: a loss queued while the agent is down survives the restart with the guest's
 * own action; a guest hung across the restart is lost at the init deadline; a vote outstanding at the
 * restart ends as `error`; a deleted instance's queued events go and discovery does not bring it back; the
 * query reply carries the condition.
 */
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { pino } from 'pino';
import { systemClock, systemRandom } from '@guesthb/daemon-kit';
import { Journal } from '@guesthb/outbox';
import { buildConfig, createGuestServer, type GuestServer } from '../src/index.js';
import { api, startAgent, startGuest, tempDir, until, UUID_A, UUID_B } from './helpers/harness.js';

const UUID_C = 'cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee';

interface Node {
  readonly server: GuestServer;
  /** Stops the server (no drain toward a down agent matters: entries stay in the journal) and the journal. */
  stop(): Promise<void>;
}

async function startPersistentServer(dir: string, stateDir: string, agentUrl: string, ini = ''): Promise<Node> {
  const config = buildConfig({
    iniText: `[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = 50\nsearch_audit_secs = 1\n${ini}`,
    cli: { channelDir: dir, agentUrl, port: 0, hostname: 'compute-0', stateDir },
    osHostname: 'unused',
  });
  const journal = await Journal.open({ path: join(stateDir, 'guest-server.journal') });
  const server = createGuestServer({
    config, log: pino({ level: process.env['GS_TEST_LOG'] ?? 'silent' }), clock: systemClock, random: systemRandom,
    wallClockMs: () => Date.now(), store: journal,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
    await journal.close();
  };
  onTestFinished(stop);
  await server.start();
  return { server, stop };
}

describe('guest-server restart with a state directory', () => {
  it('[12.1] a loss queued while the agent is down survives the restart and arrives with the guest’s action', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const agent = await startAgent();
    agent.down = true;
    const guest = await startGuest(dir, UUID_A, { correctiveAction: 'stop' });
    const first = await startPersistentServer(dir, state, agent.url);
    await api(first.server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await until(() => first.server.session(UUID_A)?.state.heartbeating === true, 5000, 'heartbeating');
    guest.respond = false;
    await until(() => first.server.session(UUID_A)?.state.lost !== undefined, 5000, 'loss detected');
    await first.stop();
    guest.sendInit = (): void => undefined;   // still hung: no init to the new connection
    agent.down = false;
    const second = await startPersistentServer(dir, state, agent.url);
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'loss'), 5000, 'the loss');
    expect(agent.of('loss').map((e) => e.correctiveAction)).toEqual(['stop']);
    // Still failed after the restart (the guest does not answer), and the query says so with the loss's id.
    const reply = await api(second.server, 'GET', '/v1/instances');
    const info = (reply.body as { instances: Record<string, unknown>[] }).instances.find((i) => i['uuid'] === UUID_A);
    expect(info).toMatchObject({ condition: 'failed', lossAction: 'stop', conditionEventId: agent.of('loss')[0]?.id, reporting: 'enabled' });
  });

  it('[12.2] a guest hung across the restart (no init) is lost with its own action at the init deadline', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A, { correctiveAction: 'reboot' });
    const first = await startPersistentServer(dir, state, agent.url, 'init_deadline_secs = 2\n');
    await api(first.server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    await first.stop();
    // The guest hangs: it accepts the new connection but never sends init again.
    guest.respond = false;
    guest.sendInit = (): void => undefined;
    const second = await startPersistentServer(dir, state, agent.url, 'init_deadline_secs = 2\n');
    expect(second.server.session(UUID_A)?.state.heartbeating).toBe(true);
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'loss'), 6000, 'the loss after the deadline');
    expect(agent.of('loss').map((e) => e.correctiveAction)).toEqual(['reboot']);
  });

  it('[12.7] a vote outstanding when the server stops ends as error after the restart', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A);
    guest.vote = () => undefined;   // the guest never answers the notice
    const first = await startPersistentServer(dir, state, agent.url);
    await api(first.server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await until(() => first.server.session(UUID_A)?.state.heartbeating === true, 5000, 'heartbeating');
    expect((await api(first.server, 'POST', `/v1/instances/${UUID_A}/vote`, { event: 'stop' })).status).toBe(202);
    await first.stop();
    await startPersistentServer(dir, state, agent.url);
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result'), 5000, 'the vote result');
    expect(agent.of('vote-result').map((e) => [e.eventType, e.vote])).toEqual([['stop', 'error']]);
  });

  it('[12.6] delete: queued events of the instance go, discovery does not re-create it, the record is not restored', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const agent = await startAgent();
    agent.down = true;
    await startGuest(dir, UUID_A);
    await startGuest(dir, UUID_B);
    const first = await startPersistentServer(dir, state, agent.url);
    await api(first.server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await api(first.server, 'PUT', `/v1/instances/${UUID_B}`, { reporting: 'enabled' });
    await until(() => first.server.session(UUID_A)?.state.heartbeating === true && first.server.session(UUID_B)?.state.heartbeating === true, 5000, 'heartbeating');
    expect((await api(first.server, 'DELETE', `/v1/instances/${UUID_A}`)).status).toBe(204);
    // The search audit runs every second and the channel file is still there (QEMU has not quit yet).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(first.server.session(UUID_A)).toBeUndefined();
    await first.stop();
    agent.down = false;
    const second = await startPersistentServer(dir, state, agent.url);
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'B running');
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.events.filter((e) => (e.kind === 'running' || e.kind === 'stopped') && e.instance.uuid === UUID_A)).toEqual([]);
    expect(second.server.session(UUID_A)).toBeUndefined();
    // A delete of an instance this server never saw (its channel not there yet) also stands.
    expect((await api(second.server, 'DELETE', `/v1/instances/${UUID_C}`)).status).toBe(404);
    await startGuest(dir, UUID_C);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(second.server.session(UUID_C)).toBeUndefined();
    // The agent provisions it again: the tombstone is lifted.
    await api(second.server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await until(() => second.server.session(UUID_A)?.state.heartbeating === true, 5000, 'A back after a new provision');
  });
});
