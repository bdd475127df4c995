/**
 * Issue 11 item 5: the channel watcher pays nothing for names that are not channel names, and refuses
 * symlinks and non-sockets (lstat), logged once per path. Over a real temp dir with inotify.
 */
import { createServer, type Server } from 'node:net';
import { mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { pino } from 'pino';
import { channelFileName, parseChannelName } from '@guesthb/protocol';
import { RefusalLog, listChannelDir, watchChannelDir } from '../src/channel-watcher.js';
import { UUID_A, UUID_B, startAgent, startGuest, startServer, tempDir, until, uuidOf } from './helpers/harness.js';

async function listen(path: string): Promise<Server> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

function recorder(): { events: string[]; accepted: string[]; watcherEvents: Parameters<typeof watchChannelDir>[1] } {
  const events: string[] = [];
  const accepted: string[] = [];
  return {
    events, accepted,
    watcherEvents: {
      accepts: (name) => {
        const ok = parseChannelName(name) !== undefined;
        if (ok) accepted.push(name);
        return ok;
      },
      onAdded: (p) => events.push(`added ${p}`),
      onRemoved: (p) => events.push(`removed ${p}`),
      onRefused: (p, what) => events.push(`refused ${what} ${p}`),
    },
  };
}

describe('channel watcher (issue 11 item 5)', () => {
  it('ignores foreign names without a call; reports sockets, refuses symlinks and files, sees replacement', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    const r = recorder();
    const watcher = await watchChannelDir(dir, r.watcherEvents, pino({ level: 'silent' }));
    onTestFinished(() => watcher.close());
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => writeFile(join(dir, `noise-${i}.txt`), 'x')));
    const socketPath = join(dir, channelFileName(UUID_A));
    await listen(socketPath);
    await until(() => r.events.includes(`added ${socketPath}`), 5000, 'socket added');
    // A link named like a channel, to a socket outside the directory, and a plain file with a channel name.
    await listen(join(outside, 's.sock'));
    const link = join(dir, channelFileName(UUID_B));
    await symlink(join(outside, 's.sock'), link);
    const file = join(dir, channelFileName(uuidOf(7)));
    await writeFile(file, 'not a socket');
    await until(() => r.events.some((e) => e.startsWith('refused symlink')) && r.events.some((e) => e.startsWith('refused file')), 5000, 'refusals');
    expect(r.events.filter((e) => e.startsWith('added'))).toEqual([`added ${socketPath}`]);
    // The 2 000 foreign names never got past the name filter: no event, no refusal, nothing kept.
    expect(r.events.filter((e) => e.includes('noise-'))).toEqual([]);
    expect(r.accepted.filter((n) => n.startsWith('noise-'))).toEqual([]);
    // Replaced socket (QEMU restart): removed, then added.
    await unlink(socketPath);
    await until(() => r.events.includes(`removed ${socketPath}`), 5000, 'socket removed');
    await listen(socketPath);
    await until(() => r.events.filter((e) => e === `added ${socketPath}`).length === 2, 5000, 'socket re-added');
  });

  it('the listing filters by name and d_type: only channel sockets, symlinks and files refused', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    await Promise.all(Array.from({ length: 500 }, (_, i) => writeFile(join(dir, `noise-${i}`), '')));
    await listen(join(dir, channelFileName(UUID_A)));
    await listen(join(outside, 's.sock'));
    await symlink(join(outside, 's.sock'), join(dir, channelFileName(UUID_B)));
    const refused: string[] = [];
    const paths = await listChannelDir(dir, (n) => parseChannelName(n) !== undefined, (p, what) => refused.push(`${what} ${p}`));
    expect(paths).toEqual([join(dir, channelFileName(UUID_A))]);
    expect(refused).toEqual([`symlink ${join(dir, channelFileName(UUID_B))}`]);
  });

  it('logs a refused path once, however often it is seen', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => { lines.push(chunk.toString()); done(); } }));
    const refusals = new RefusalLog(log);
    for (let i = 0; i < 50; i++) refusals.refuse('/d/cgcs.heartbeat.x.sock', 'symlink');
    refusals.refuse('/d/other', 'file');
    expect(refusals.count).toBe(51);
    expect(lines).toHaveLength(2);
  });

  it('guest-server never connects through a symlink named like a channel (watcher and audit)', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    const agent = await startAgent();
    const target = await startGuest(outside, UUID_B);
    const server = await startServer({ dir, agentUrl: agent.url, ini: 'search_audit_secs = 1\n' });
    await symlink(target.path, join(dir, channelFileName(UUID_B)));
    const good = await startGuest(dir, UUID_A);
    await until(() => good.messages('challenge').length >= 3, 5000, 'good guest heartbeating');
    // Two audit passes later the link is still refused.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    expect(target.connections).toBe(0);
    expect(server.session(UUID_B)).toBeUndefined();
    await rm(join(dir, channelFileName(UUID_B)));
  });
});

describe('channel directory removed and re-created (issue 11 item 5)', () => {
  it('a watch that failed (no directory yet) or was lost (directory removed) is started again by the search audit', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'qemu');
    const agent = await startAgent();
    let watches = 0;
    const counting: typeof watchChannelDir = async (d, events, log) => {
      watches++;
      return watchChannelDir(d, events, log);
    };
    // The directory does not exist yet at start (libvirt not up): the first watch fails.
    const server = await startServer({ dir, agentUrl: agent.url, ini: 'search_audit_secs = 1\n', watchChannelDir: counting });
    const failed = watches;   // the start and the start-up audit both tried
    expect(failed).toBeGreaterThanOrEqual(1);
    await mkdir(dir);
    await until(() => watches > failed, 5000, 'watched by the next audit once the directory exists');
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(1_500);
    const watching = watches;
    await sleep(1_500);
    expect(watches, 'a working watch is not restarted').toBe(watching);
    const first = await startGuest(dir, UUID_A);
    await until(() => first.messages('challenge').length >= 1, 5000, 'found');
    await first.close();
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await until(() => watches > watching, 5000, 'watched again after the directory was re-created');
    const second = await startGuest(dir, UUID_B);
    await until(() => second.messages('challenge').length >= 1, 5000, 'found in the re-created directory');
    expect(server.session(UUID_B)?.channelPath).toBe(second.path);
  });
});
