/** Discovery over a real temp dir: start-up scan, create, delete, replace, rename, both name patterns, 200 at once, rescan. */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNEL_ALT_PREFIX, CHANNEL_SUFFIX, channelFileName } from '@guesthb/protocol';
import { buildConfig, type WatchChannelDir } from '../src/index.js';
import { UUID_A, UUID_B, startAgent, startGuest, startServer, tempDir, until, uuidOf } from './helpers/harness.js';

const running = (uuid: string) => (ev: readonly { kind: string; instance?: { uuid: string } }[]): boolean =>
  ev.some((e) => e.kind === 'running' && e.instance?.uuid === uuid);

describe('channel discovery', () => {
  it('connects to sockets present at start in both name patterns; ignores other names', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const a = await startGuest(dir, UUID_A);
    const b = await startGuest(dir, UUID_B, {}, `${CHANNEL_ALT_PREFIX}${UUID_B}${CHANNEL_SUFFIX}`);
    const other = await startGuest(dir, uuidOf(9), {}, 'other.heartbeat.sock');
    const short = await startGuest(dir, uuidOf(8), {}, 'cgcs.heartbeat.not-a-uuid.sock');
    await writeFile(join(dir, 'cgcs.heartbeat.notes.txt'), 'x');
    const server = await startServer({ dir, agentUrl: agent.url });
    await agent.waitFor((ev) => running(UUID_A)(ev) && running(UUID_B)(ev), 5000, 'both running');
    expect(a.connections).toBe(1);
    expect(b.connections).toBe(1);
    expect(other.connections).toBe(0);
    expect(short.connections).toBe(0);
    expect(server.session(UUID_B)?.channelPath).toBe(b.path);
  });

  it('connects to a socket created after start, and reports a removed one as stopped', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    const guest = await startGuest(dir, UUID_A);
    await agent.waitFor(running(UUID_A), 5000, 'running');
    await guest.close();   // QEMU went away: socket closed and file removed
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'stopped'), 5000, 'stopped');
    // Not provisioned by the agent: the record goes with its channel.
    await until(() => server.session(UUID_A) === undefined, 5000, 'instance forgotten');
    expect(agent.of('loss')).toHaveLength(0);
  });

  it('reconnects when the socket is replaced (QEMU restart) and the guest inits again', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    await startServer({ dir, agentUrl: agent.url });
    const first = await startGuest(dir, UUID_A);
    await until(() => first.messages('init_ack').length === 1, 5000, 'first init_ack');
    await first.close();
    const second = await startGuest(dir, UUID_A);
    await until(() => second.messages('init_ack').length === 1, 5000, 'second init_ack');
    expect(second.connections).toBe(1);
  });

  it('follows a rename: old name removed, new name connected', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    const guest = await startGuest(dir, UUID_A);
    await agent.waitFor(running(UUID_A), 5000, 'running A');
    await rename(guest.path, join(dir, channelFileName(UUID_B)));
    await until(() => server.session(UUID_B)?.state.heartbeating === true, 5000, 'B heartbeating');
    await until(() => server.session(UUID_A) === undefined, 5000, 'A forgotten');
  });

  it('a second file for a live uuid does not take over; it is used when the first goes away', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    const first = await startGuest(dir, UUID_A);
    await agent.waitFor(running(UUID_A), 5000, 'running');
    const second = await startGuest(dir, UUID_A, {}, `${CHANNEL_ALT_PREFIX}${UUID_A}${CHANNEL_SUFFIX}`);
    await until(() => server.session(UUID_A)?.channelPath === first.path && first.messages('challenge').length >= 3, 5000, 'still on the first');
    expect(second.connections).toBe(0);
    await first.close();
    await until(() => second.messages('init_ack').length === 1, 5000, 'moved to the second file');
    expect(server.session(UUID_A)?.channelPath).toBe(second.path);
  });

  it('handles 200 sockets appearing and vanishing at once', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    const uuids = Array.from({ length: 200 }, (_, i) => uuidOf(i + 1));
    const guests = await Promise.all(uuids.map((u) => startGuest(dir, u, { intervalMs: 2000 })));
    await agent.waitFor((ev) => ev.filter((e) => e.kind === 'running').length === 200, 20_000, '200 running');
    expect(server.queryInstances().instances).toHaveLength(200);
    await Promise.all(guests.map((g) => g.close()));
    await agent.waitFor((ev) => ev.filter((e) => e.kind === 'stopped').length === 200, 20_000, '200 stopped');
    await until(() => server.queryInstances().instances.length === 0, 10_000, 'all forgotten');
  }, 60_000);

  it('the periodic search audit finds what the watcher missed', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const blindWatcher: WatchChannelDir = async () => ({ close: async () => undefined });
    const server = await startServer({ dir, agentUrl: agent.url, ini: 'search_audit_secs = 1\n', watchChannelDir: blindWatcher });
    const guest = await startGuest(dir, UUID_A);
    await agent.waitFor(running(UUID_A), 5000, 'running via rescan');
    await guest.close();
    await until(() => server.session(UUID_A) === undefined, 5000, 'forgotten via rescan or ENOENT');
  });

  it('a SIGHUP reload that changes channel_dir moves nothing until a restart: the audit stays on the watched dir', async () => {
    const [dir, otherDir] = [await tempDir(), await tempDir()];
    const agent = await startAgent();
    const blindWatcher: WatchChannelDir = async () => ({ close: async () => undefined });
    const ini = '[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = 50\nsearch_audit_secs = 1\n';
    const server = await startServer({ dir, agentUrl: agent.url, ini: 'search_audit_secs = 1\n', watchChannelDir: blindWatcher });
    await server.reload(buildConfig({ iniText: ini, cli: { channelDir: otherDir, agentUrl: agent.url, port: 0, hostname: 'compute-0' }, osHostname: 'unused' }));
    // Both exist before the next audit pass: the pass that finds A would find B too if it listed otherDir.
    await startGuest(otherDir, UUID_B);
    await startGuest(dir, UUID_A);
    await agent.waitFor(running(UUID_A), 5000, 'running via rescan of the original dir');
    expect(server.session(UUID_B)).toBeUndefined();
  });
});
