/** The `guest-client` binary as a real child process: socket mode against a host peer, exit codes, simulation mode. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { GUEST_TO_HOST_TYPES, WireDecoder, channelFileName, type WireMessage } from '@guesthb/protocol';
import { HostListener, connectHost } from './helpers/host-peer.js';
import { connectApp } from './helpers/app-peer.js';
import { tempDir } from './helpers/temp.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function startCli(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    child, stdout: '', stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (c: Buffer) => { run.stdout += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { run.stderr += c.toString(); });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  return run;
}

async function conf(dir: string, text: string): Promise<string> {
  const path = join(dir, 'guest_heartbeat.conf');
  await writeFile(path, text);
  return path;
}

describe('guest-client (client mode)', () => {
  it('connects to a socket path, heartbeats, and sends exit on SIGTERM', async () => {
    const dir = await tempDir();
    const listener = await new HostListener(join(dir, 'hb.sock')).listen();
    onTestFinished(() => listener.close());
    const run = startCli(['--no-app-api', '--device', listener.path, '--name', 'vm-cli', '--config', await conf(dir, 'VOTE=8\nRESTART=600\n'), '--log-level', 'warn']);
    const h = await listener.peer();
    const init = await h.handshake();
    expect(init).toMatchObject({ sequence: 1, invocation_id: 1804289383, name: 'vm-cli', vote_secs: 9, restart_secs: 601 });
    expect(await h.challenge(4242)).toMatchObject({ sequence: 2, heartbeat_response: 4242, heartbeat_health: 'healthy' });
    const from = h.messages.length;
    run.child.kill('SIGTERM');
    expect(await h.next('exit', from)).toMatchObject({ sequence: 3, log_msg: 'Exiting...' });
    expect(await run.exited).toBe(0);
  });

  it('reports the health script verdict and runs the event script for votes', async () => {
    const dir = await tempDir();
    const health = join(dir, 'health.sh');
    await writeFile(health, '#!/bin/sh\necho "File /tmp/unhealthy exists."\nexit 1\n');
    const event = join(dir, 'event.sh');
    await writeFile(event, '#!/bin/sh\n[ "$2" = stop ] && { echo "vote no to $2"; exit 1; }\nexit 0\n');
    await chmod(health, 0o755);
    await chmod(event, 0o755);
    const listener = await new HostListener(join(dir, 'hb.sock')).listen();
    onTestFinished(() => listener.close());
    startCli(['--no-app-api', '--device', listener.path, '--config', await conf(dir, `HEALTH_CHECK_INTERVAL=1\nHEALTH_CHECK_SCRIPT=${health}\nEVENT_NOTIFICATION_SCRIPT="${event}"\n`), '--log-level', 'silent']);
    const h = await listener.peer();
    await h.handshake();
    const first = await h.challenge(1);
    expect(first).toMatchObject({ heartbeat_health: 'healthy', log_msg: '' });
    let verdict = first;
    for (let i = 2; verdict.heartbeat_health === 'healthy' && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
      verdict = await h.challenge(i);
    }
    expect(verdict).toMatchObject({ heartbeat_health: 'unhealthy', corrective_action: 'reboot', log_msg: 'File /tmp/unhealthy exists. ' });
    const from = h.messages.length;
    h.send({ msg_type: 'action_notify', invocation_id: 5, event_type: 'stop', notification_type: 'revocable', timeout_ms: 5000 });
    expect(await h.next('action_response', from)).toMatchObject({ invocation_id: 5, vote_result: 'reject', log_msg: 'vote no to stop ' });
  });

  it('serves the application API: an app\'s unhealthy state and its reject reach the host (client §5, §7, §8)', async () => {
    const dir = await tempDir();
    const listener = await new HostListener(join(dir, 'hb.sock')).listen();
    onTestFinished(() => listener.close());
    const appSocket = join(dir, 'api.sock');
    const run = startCli(['--device', listener.path, '--app-socket', appSocket, '--config', await conf(dir, 'CORRECTIVE_ACTION=log\n'), '--log-level', 'silent']);
    const h = await listener.peer();
    await h.handshake();
    await expect.poll(() => existsSync(appSocket), { timeout: 5000 }).toBe(true);
    const app = await connectApp(appSocket);
    onTestFinished(() => app.close());
    app.behaviour.health = 'unhealthy';
    app.behaviour.action = 'stop';
    app.behaviour.log = 'database corrupted';
    app.behaviour.vote = 'reject';
    app.behaviour.voteLog = 'migration would lose writes';
    expect(await app.register('db-app', 400)).toMatchObject({ accepted: true });
    await app.next('challenge');                                          // answered unhealthy at once
    let verdict = await h.challenge(1);
    for (let i = 2; verdict.heartbeat_health === 'healthy' && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 50));
      verdict = await h.challenge(i);
    }
    expect(verdict).toMatchObject({ heartbeat_health: 'unhealthy', corrective_action: 'stop', log_msg: 'database corrupted' });
    const from = h.messages.length;
    h.send({ msg_type: 'action_notify', invocation_id: 12, event_type: 'live_migrate_begin', notification_type: 'revocable', timeout_ms: 5000 });
    expect(await app.next('action_notify')).toMatchObject({ eventType: 'live_migrate_begin', notificationType: 'revocable' });
    expect(await h.next('action_response', from)).toMatchObject({
      invocation_id: 12, event_type: 'live_migrate_begin', vote_result: 'reject', log_msg: 'migration would lose writes',
    });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(existsSync(appSocket)).toBe(false);                            // removed on exit (the original left it)
  });

  it('keeps heartbeating when the application API socket cannot be bound (GC_ERR_APP_API_FAILED logged)', async () => {
    const dir = await tempDir();
    const listener = await new HostListener(join(dir, 'hb.sock')).listen();
    onTestFinished(() => listener.close());
    const run = startCli(['--device', listener.path, '--app-socket', join(dir, 'no-such-dir', 'api.sock'), '--config', await conf(dir, ''), '--log-level', 'error']);
    const h = await listener.peer();
    await h.handshake();
    expect(await h.challenge(9)).toMatchObject({ heartbeat_response: 9, heartbeat_health: 'healthy' });
    expect(run.stdout).toContain('GC_ERR_APP_API_FAILED');
  });

  it('exits 6 at once when the device does not exist (client §2)', async () => {
    const dir = await tempDir();
    const run = startCli(['--no-app-api', '--device', join(dir, 'missing'), '--config', await conf(dir, ''), '--log-level', 'info']);
    expect(await run.exited).toBe(6);
    expect(run.stdout).toContain('guest heartbeat not configured');
  });

  it.each([
    [['--config', 'CONF', '--device', 'x'], 'HB_INTERVAL=100\n', 'HB_INTERVAL'],
    [['--config', 'CONF', '--bogus'], '', 'bogus'],
    [['--config', 'MISSING'], '', 'cannot read configuration'],
    [['--listen', 'DIR'], '', '--uuid'],
    [['--config', 'CONF', '--no-app-api', '--app-socket', 'x'], '', '--app-socket'],
    [['--listen', 'DIR', '--uuid', 'short'], '', '--uuid'],
  ])('exits 2 naming the problem: %j', async (args, text, needle) => {
    const dir = await tempDir();
    const confPath = await conf(dir, text);
    const run = startCli(args.map((a) => (a === 'CONF' ? confPath : a === 'MISSING' ? join(dir, 'nope.conf') : a === 'DIR' ? dir : a)));
    expect(await run.exited).toBe(2);
    expect(run.stderr).toContain(needle);
  });
});

describe('guest-client --listen (simulation mode)', () => {
  it('listens as QEMU for each --uuid; a host that connects gets an init', async () => {
    const dir = await tempDir();
    const uuids = ['0f6a4c5e-1111-4c1b-9b4a-2f1f0c6d7e01', '0f6a4c5e-2222-4c1b-9b4a-2f1f0c6d7e02'];
    const run = startCli(['--listen', dir, '--uuid', uuids[0] ?? '', '--uuid', uuids[1] ?? '', '--log-level', 'warn']);
    const paths = uuids.map((u) => join(dir, channelFileName(u)));
    await expect.poll(() => paths.every((p) => existsSync(p)), { timeout: 5000 }).toBe(true);
    for (const path of paths) {
      const h = await connectHost(path);
      onTestFinished(() => h.close());
      await h.handshake();
      expect((await h.challenge(3)).heartbeat_response).toBe(3);
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(paths.some((p) => existsSync(p))).toBe(false);
  });
});

describe('guest-client on a character device', () => {
  it('opens a pty (the virtio-serial stand-in of client §2) and heartbeats through it', async () => {
    const dir = await tempDir();
    const confPath = await conf(dir, 'CORRECTIVE_ACTION=log\n');
    // util-linux `script` gives the client a pty as its terminal; `$(tty)` names the slave, a character device.
    const command = `'${process.execPath}' '${BIN}' --device "$(tty)" --name ptyvm --no-app-api --config '${confPath}' --log-level silent`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = once(child, 'exit');
    onTestFinished(async () => {
      // SIGTERM: `script` passes it on to the client, which stops (a SIGKILL would orphan the client).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    });
    const decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
    const messages: WireMessage[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      for (const r of decoder.push(chunk)) if (r.ok) messages.push(r.message);
    });
    await expect.poll(() => messages.find((m) => m.msg_type === 'init'), { timeout: 5000 }).toMatchObject({ name: 'ptyvm', corrective_action: 'log' });
    child.stdin.write('{"version":3,"revision":1,"msg_type":"init_ack","sequence":1,"invocation_id":1804289383}\n');
    await new Promise((r) => setTimeout(r, 100));
    child.stdin.write('{"version":3,"revision":1,"msg_type":"challenge","sequence":2,"heartbeat_challenge":77}\n');
    await expect.poll(() => messages.find((m) => m.msg_type === 'challenge_response'), { timeout: 5000 })
      .toMatchObject({ heartbeat_response: 77, heartbeat_health: 'healthy', corrective_action: 'log' });
    child.kill('SIGTERM');
    await exited;
  });
});
