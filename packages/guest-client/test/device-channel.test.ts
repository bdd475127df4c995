/**
 * guest-client on a real character device (a pty standing in for the virtio-serial port, client §2):
 * SIGTERM while the host is silent or gone, and the host end going away and coming back (issue 14 item 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deviceNumbers } from '../src/device-channel.js';
import { PtyHost } from './helpers/pty-host.js';
import { tempDir } from './helpers/temp.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
/** The client's own stop deadline (main.ts): a clean stop must end well within it. */
const CLIENT_DEADLINE_MS = 5000;

interface Client {
  readonly child: ChildProcess;
  readonly logs: { msg: string; from?: string; to?: string; event?: string }[];
  readonly exited: Promise<number | null>;
}

async function startClient(device: string): Promise<Client> {
  const dir = await tempDir();
  const confPath = join(dir, 'guest_heartbeat.conf');
  await writeFile(confPath, 'CORRECTIVE_ACTION=log\n');
  const child = spawn(process.execPath, [BIN, '--device', device, '--name', 'ptyvm', '--no-app-api', '--config', confPath, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const client: Client = { child, logs: [], exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  let carry = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (carry + chunk.toString()).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      try { client.logs.push(JSON.parse(line) as Client['logs'][number]); } catch { /* not a log line */ }
    }
  });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  return client;
}

function transitions(client: Client): string[] {
  return client.logs.filter((l) => l.msg === 'heartbeat state change').map((l) => `${l.from}->${l.to}`);
}

/** Acks the newest init and answers with one challenge; resolves when the response is seen. */
async function enable(host: PtyHost, challenge: number): Promise<void> {
  await expect.poll(() => host.of('init').length, { timeout: 8000 }).toBeGreaterThan(0);
  const init = host.of('init').at(-1);
  host.send(`{"version":3,"revision":1,"msg_type":"init_ack","sequence":1,"invocation_id":${init?.invocation_id}}\n`);
  // A challenge before the ack is handled would go unanswered (client §4.2): repeat until one is echoed.
  await expect.poll(() => {
    host.send(`{"version":3,"revision":1,"msg_type":"challenge","sequence":2,"heartbeat_challenge":${challenge}}\n`);
    return host.of('challenge_response').some((m) => m.heartbeat_response === challenge);
  }, { timeout: 5000, interval: 200 }).toBe(true);
}

async function stopWithin(client: Client): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  client.child.kill('SIGTERM');
  const code = await client.exited;
  return { code, ms: Date.now() - t0 };
}

describe('guest-client on a pty', () => {
  it('exits 0 at once on SIGTERM while enabled and the host is silent, after sending exit', async () => {
    const dir = await tempDir();
    const device = join(dir, 'cgcs.heartbeat');
    const host = await PtyHost.start(device);
    const client = await startClient(device);
    await enable(host, 4242);
    // The host now says nothing: the client sits in a read that will never complete (the hang of issue 14).
    await new Promise((r) => setTimeout(r, 300));
    const { code, ms } = await stopWithin(client);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(CLIENT_DEADLINE_MS);
    await expect.poll(() => host.of('exit').length).toBe(1);
  });

  it('exits 0 on SIGTERM while enabling with a host that never answers', async () => {
    const dir = await tempDir();
    const device = join(dir, 'cgcs.heartbeat');
    const host = await PtyHost.start(device);
    const client = await startClient(device);
    await expect.poll(() => host.of('init').length, { timeout: 8000 }).toBeGreaterThan(0);
    const { code, ms } = await stopWithin(client);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(CLIENT_DEADLINE_MS);
    expect(host.of('exit')).toHaveLength(0);                         // exit is sent only from enabled (client §4.1)
  });

  it('goes disabled when the host end closes, re-inits when a host is back, and exits 0 while it is gone', async () => {
    const dir = await tempDir();
    const device = join(dir, 'cgcs.heartbeat');
    const first = await PtyHost.start(device);
    const client = await startClient(device);
    await enable(first, 1);
    await first.hangUp();
    await expect.poll(() => transitions(client), { timeout: 5000 }).toContain('enabled->disabled');

    const second = await PtyHost.start(device);
    await enable(second, 2);
    expect(transitions(client)).toEqual(expect.arrayContaining(['disabled->enabling', 'enabling->enabled']));
    expect(transitions(client).filter((t) => t === 'enabling->enabled')).toHaveLength(2);

    await second.hangUp();
    await expect.poll(() => transitions(client).filter((t) => t === 'enabled->disabled').length, { timeout: 5000 }).toBe(2);
    const { code, ms } = await stopWithin(client);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(CLIENT_DEADLINE_MS);
  });

  it('refuses a character device that cannot be polled (exit 1, GC_ERR_CHANNEL_FAILED), never aborting', async () => {
    const client = await startClient('/dev/null');
    expect(await client.exited).toBe(1);
  });

  it('decodes Linux device numbers as glibc does', () => {
    expect(deviceNumbers(259)).toEqual({ major: 1, minor: 3 });                  // /dev/null
    expect(deviceNumbers(0x8807)).toEqual({ major: 136, minor: 7 });            // /dev/pts/7
    expect(deviceNumbers(0x1230f045)).toEqual({ major: 240, minor: 0x12345 });   // makedev(240, 0x12345)
  });
});
