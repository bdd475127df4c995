/**
 * Issue 11 item 8: every attack of the issue, against guest-agent and guest-server as real processes on
 * loopback. An attacker on the management network: encoded paths, absolute-form targets and other spellings
 * of a /v1 route without the token; a peer port beyond loopback without a token; an idle-connection flood at
 * nofile 1024. Hostile guests: a re-initialisation loop; 10 000 foreign files and a symlink in the channel
 * directory. An operator's typo: a wrong hostname, a token mismatch (both must show in /healthz within 30 s).
 * Lifecycle: a taken port exits 1; SIGTERM works with stdout a closed pipe. Each test is bounded in time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { channelFileName } from '@guesthb/protocol';
import { AGENT_BIN, Daemon, SERVER_BIN, freePort } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { RawGuest } from './helpers/raw-guest.js';
import { HOSTNAME, Stack, isFailedAlarm, metricsOf, rssKb, uuidOf } from './helpers/stack.js';

const TOKEN = 'f00dfeed'.repeat(8);
const OTHER_TOKEN = 'badc0ffe'.repeat(8);

/** A token file in the stack's dir; returns the INI line naming it. */
async function tokenLine(stack: Stack, name: string, token: string): Promise<string> {
  const path = join(stack.dir, name);
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return `token_file = ${path}\n`;
}

/** One raw HTTP/1.1 request with the request-target sent byte for byte; resolves with the status code. */
async function rawStatus(port: number, method: string, target: string, body = '', headers = ''): Promise<number> {
  const socket = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'connect');
  const length = body === '' ? '' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  socket.write(`${method} ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${headers}${length}\r\n${body}`);
  await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  socket.destroy();
  const m = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
  return m === null ? 0 : Number(m[1]);
}

async function healthOf(url: string): Promise<{ status: number; body: { status?: string; reasons?: string[]; warnings?: string[] } }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.json() as { status?: string; reasons?: string[]; warnings?: string[] } };
}

/** Runs a daemon binary to its exit (bounded); resolves with the exit code and stderr. */
async function runToExit(bin: string, args: readonly string[], timeoutMs = 15_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit') as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

describe('attacks (issue 11)', () => {
  it('the bearer token cannot be skipped: encoded paths, absolute form, double slashes, dot segments, case, HEAD, OPTIONS', async () => {
    const stack = await Stack.create();
    const agentToken = await tokenLine(stack, 'agent.token', TOKEN);
    const withToken = await Stack.create({ agentIni: agentToken, serverIni: agentToken });
    await withToken.startAgent();
    await withToken.startServer();
    const s = withToken.ports.server;
    const u = uuidOf(0xa1);
    const attacks: [string, string, string?][] = [
      ['GET', '/%761/instances'], ['GET', '/%76%31/instances'], ['GET', 'http://x/v1/instances'], ['GET', '//v1/instances'],
      ['GET', '/v1/./instances'], ['GET', '/v1/../v1/instances'], ['GET', '/V1/instances'], ['GET', '/v1/INSTANCES'],
      ['HEAD', '/v1/instances'], ['OPTIONS', '/v1/instances'], ['GET', '/v1/instances?x=1'], ['GET', '/v1%2finstances'],
      ['PUT', '/%761/host', '{"reporting":"disabled"}'], ['DELETE', `/%761/instances/${u}`],
      ['POST', `/%761/instances/${u}/notify`, '{"event":"stop"}'], ['POST', `http://x/v1/instances/${u}/vote`, '{"event":"stop"}'],
      ['POST', '/%761/announce'],
    ];
    for (const [method, target, body] of attacks) {
      expect(await rawStatus(s, method, target, body), `${method} ${target}`).toBe(401);
      expect(await rawStatus(s, method, target, body, `authorization: Bearer ${OTHER_TOKEN}\r\n`), `${method} ${target} (wrong token)`).toBe(401);
    }
    // The same request with the token does reach the route, and host reporting was never disabled.
    const res = await fetch(`${withToken.serverUrl}/v1/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ hostReporting: 'enabled' });
    expect(await rawStatus(s, 'GET', '/healthz')).toBe(200);

    // The agent's server-facing port: a forged loss event does not reach the VIM, however the path is spelled.
    await withToken.provision([u]);
    const loss = JSON.stringify({ events: [{ kind: 'loss', id: 'forged-1', hostname: HOSTNAME, atMs: 1, uuid: u, correctiveAction: 'reboot' }] });
    for (const target of ['/v1/events', '/%761/events', 'http://x/v1/events', '//v1/events', '/v1/./events']) {
      expect(await rawStatus(withToken.ports.rx, 'POST', target, loss), `agent POST ${target}`).toBe(401);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(withToken.vim.records.filter((r) => isFailedAlarm(r, u))).toHaveLength(0);
  }, 60_000);

  it('secure by default: a peer port beyond loopback without a token refuses to start (exit 2); the opt-out starts with warnings', async () => {
    const stack = await Stack.create();
    const [rx, vim, port] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(stack.dir, 'open-agent.ini'), '[agent]\nrx_host = 0.0.0.0\n');
    const agent = await runToExit(AGENT_BIN, ['--config', join(stack.dir, 'open-agent.ini'), '--port', String(rx), '--vim-cmd-port', String(vim)]);
    expect(agent.code, agent.stderr).toBe(2);
    expect(agent.stderr).toContain('[agent] token_file');
    // The VIM command port carries no token: it stays on loopback.
    await writeFile(join(stack.dir, 'vim-open.ini'), `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 0.0.0.0\n`);
    const vimOpen = await runToExit(AGENT_BIN, ['--config', join(stack.dir, 'vim-open.ini'), '--port', String(rx), '--vim-cmd-port', String(vim)]);
    expect(vimOpen.code, vimOpen.stderr).toBe(2);
    expect(vimOpen.stderr).toContain('[agent] vim_cmd_host');
    await writeFile(join(stack.dir, 'open-server.ini'), '[client]\nbind_address = 0.0.0.0\n');
    const server = await runToExit(SERVER_BIN, ['--config', join(stack.dir, 'open-server.ini'), '--port', String(port), '--channel-dir', stack.channelDir, '--agent-url', 'http://127.0.0.1:9']);
    expect(server.code, server.stderr).toBe(2);
    expect(server.stderr).toContain('[client] token_file');

    await writeFile(join(stack.dir, 'optout-agent.ini'), '[agent]\nrx_host = 0.0.0.0\nallow_unauthenticated = true\n');
    const optOut = new Daemon('guest-agent', AGENT_BIN, ['--config', join(stack.dir, 'optout-agent.ini'), '--port', String(rx), '--vim-cmd-port', String(vim), '--vim-event-url', stack.vim.url], `http://127.0.0.1:${rx}/healthz`);
    onTestFinished(async () => { await optOut.stop(); });
    await optOut.waitHealthy();
    const health = await healthOf(`http://127.0.0.1:${rx}/healthz`);
    expect(health.body.warnings?.join(' ')).toContain('allow_unauthenticated');
    expect((await metricsOf(`http://127.0.0.1:${rx}/metrics`)).get('guest_agent_unauthenticated')).toBe(1);
    expect(optOut.output).toContain('UNAUTHENTICATED');
  }, 60_000);

  it('an idle-connection flood at nofile 1024: discovery, channel connects and event posting keep working', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    const server = await stack.startServer();
    await promisify(execFile)('prlimit', ['--pid', String(server.pid), '--nofile=1024:1024']);
    // 1 100 idle connections from one attacker address (127.0.0.2), as many as the kernel lets us open.
    const idle: Socket[] = [];
    onTestFinished(() => { for (const socket of idle) socket.destroy(); });
    for (let i = 0; i < 1_100; i++) {
      const socket = connect({ port: stack.ports.server, host: '127.0.0.1', localAddress: '127.0.0.2' });
      socket.on('error', () => undefined);
      idle.push(socket);
    }
    await waitFor(async () => ((await metricsOf(`${stack.serverUrl}/metrics`)).get('guest_server_http_connections_refused_total') ?? 0) > 1_000, 15_000, 'refusals counted', () => stack.report());
    const fds = (await readdir(`/proc/${server.pid}/fd`)).length;
    expect(fds, 'descriptors of guest-server during the flood').toBeLessThan(256);
    // During the flood: /healthz answers; a new guest is discovered, connected, heartbeats, and its running
    // event reaches the VIM (event posting works).
    expect((await healthOf(`${stack.serverUrl}/healthz`)).status).toBe(200);
    const uuid = uuidOf(0xf1);
    await stack.provision([uuid]);
    const guest = new RawGuest({ dir: stack.channelDir, uuid, intervalMs: 400 });
    onTestFinished(() => guest.close());
    await guest.start();
    await waitFor(() => guest.challengeTimes.length >= 3, 15_000, 'the new guest heartbeating', () => stack.report());
    await waitFor(() => stack.vim.records.some((r) => r.method === 'PATCH' && JSON.stringify(r.json ?? {}).includes(uuid)), 15_000, 'an event of the new guest at the VIM', () => stack.report());
    expect(server.output).not.toContain('EMFILE');
  }, 90_000);

  it('a re-initialisation loop is held to its budget and to a few log lines; a good guest beside it keeps its heartbeat', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    const server = await stack.startServer();
    const good = new RawGuest({ dir: stack.channelDir, uuid: uuidOf(0xb1), intervalMs: 400 });
    onTestFinished(() => good.close());
    await good.start();
    const loopUuid = uuidOf(0xb2);
    const looper = await reinitLoop(join(stack.channelDir, channelFileName(loopUuid)));
    await waitFor(() => good.challengeTimes.length >= 3 && looper.connected, 15_000, 'both connected', () => stack.report());
    const before = server.output.length;
    await new Promise((resolve) => setTimeout(resolve, 4_000));   // 400 re-inits at 10 ms
    const lines = server.output.slice(before).split('\n').filter((l) => l.includes(loopUuid));
    expect(lines.length, lines.slice(0, 5).join('\n')).toBeLessThanOrEqual(12);
    const m = await stack.serverMetrics();
    // 400 inits: the line budget (40, then 20 a second) lets ~120 through, the init budget (5, then 6 a
    // minute) acks 5 of those; the rest is dropped and counted.
    expect(m.get('guest_server_guest_budget_drops_total{kind="reinit"}') ?? 0).toBeGreaterThan(80);
    expect(m.get('guest_server_guest_budget_drops_total{kind="messages"}') ?? 0).toBeGreaterThan(0);
    // The good guest skipped no challenge while the looper hammered the server (tight figures: bench/ f).
    const gaps = good.challengeTimes.slice(-10).map((t, i, a) => (i === 0 ? 0 : t - (a[i - 1] ?? t))).slice(1);
    expect(Math.max(...gaps), gaps.map((g) => g.toFixed(0)).join(' ')).toBeLessThan(2 * 400);
  }, 60_000);

  it('the channel directory: 10 000 foreign files cost nothing, a symlink named like a channel is refused', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    const server = await stack.startServer();
    const good = new RawGuest({ dir: stack.channelDir, uuid: uuidOf(0xc1), intervalMs: 400 });
    onTestFinished(() => good.close());
    await good.start();
    await waitFor(() => good.challengeTimes.length >= 3, 15_000, 'heartbeating', () => stack.report());
    const rssBefore = await rssKb(server.pid);
    const from = good.challengeTimes.length;
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(stack.channelDir, `vm-${i + j}.log`), 'x')));
    }
    const outside = join(stack.dir, 'outside');
    await mkdir(outside);
    const target = await listenOn(join(outside, 's.sock'));
    await symlink(join(outside, 's.sock'), join(stack.channelDir, channelFileName(uuidOf(0xc2))));
    await new Promise((resolve) => setTimeout(resolve, 6_000));   // past a search audit (5 s)
    const gaps = good.challengeTimes.slice(from - 1).map((t, i, a) => (i === 0 ? 0 : t - (a[i - 1] ?? t))).slice(1);
    // No challenge skipped while the files appear (the tight figure is a timing property: bench/, not here;
    // chokidar made them 90–135 ms late on an idle machine).
    expect(Math.max(...gaps), gaps.map((g) => g.toFixed(0)).join(' ')).toBeLessThan(2 * 400);
    expect(target.connections).toBe(0);
    expect(server.output.split('\n').filter((l) => l.includes('channel name refused'))).toHaveLength(1);
    expect((await rssKb(server.pid)) - rssBefore).toBeLessThan(40 * 1024);
  }, 90_000);

  it('silent blindness shows in /healthz within 30 s: a wrong hostname, and a token mismatch', async () => {
    // Wrong hostname: no advertise_url, and compute-0 does not resolve, so the agent cannot reach the server.
    const wrong = await Stack.create({ advertise: false });
    await wrong.startAgent();
    await wrong.startServer();
    await waitFor(async () => (await healthOf(`${wrong.serverUrl}/healthz`)).body.status === 'degraded', 30_000, 'server degraded (never commanded)');
    await waitFor(async () => (await healthOf(`${wrong.agentUrl}/healthz`)).body.status === 'degraded', 30_000, 'agent degraded (server unreachable)', () => wrong.report());
    expect((await healthOf(`${wrong.agentUrl}/healthz`)).body.reasons?.join(' ')).toContain('unreachable');

    // Token mismatch: both sides say so.
    const stack = await Stack.create();
    const mismatch = await Stack.create({ agentIni: await tokenLine(stack, 'a.token', TOKEN), serverIni: await tokenLine(stack, 'b.token', OTHER_TOKEN) });
    await mismatch.startAgent();
    await mismatch.startServer();
    await waitFor(async () => ((await healthOf(`${mismatch.serverUrl}/healthz`)).body.reasons ?? []).some((r) => r.includes('refuses our token')), 30_000, 'server: agent refuses our token', () => mismatch.report());
    await waitFor(async () => (await healthOf(`${mismatch.agentUrl}/healthz`)).body.status === 'degraded', 30_000, 'agent degraded (refused a token)', () => mismatch.report());
    expect((await metricsOf(`${mismatch.serverUrl}/metrics`)).get('guest_server_health_problems') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('token rotation by SIGHUP without a refused request: OLD+NEW, then NEW+OLD (a loss in between reaches the VIM at once), then NEW', async () => {
    const holder = await Stack.create();
    const file = join(holder.dir, 'guest.token');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    const stack = await Stack.create({ agentIni: `token_file = ${file}\n`, serverIni: `token_file = ${file}\n` });
    const agent = await stack.startAgent();
    const server = await stack.startServer();
    const uuid = uuidOf(0xd1);
    await stack.provision([uuid]);
    const guest = new RawGuest({ dir: stack.channelDir, uuid, intervalMs: 400 });
    onTestFinished(() => guest.close());
    await guest.start();
    await waitFor(() => guest.challengeTimes.length >= 3, 15_000, 'heartbeating', () => stack.report());
    const reload = async (daemon: Daemon, what: string): Promise<void> => {
      const before = (daemon.output.match(/reload complete/g) ?? []).length;
      process.kill(daemon.pid, 'SIGHUP');
      await waitFor(() => (daemon.output.match(/reload complete/g) ?? []).length > before, 10_000, `${what} reloaded`);
    };
    const refusals = async (): Promise<number> => (await metricsOf(`${stack.serverUrl}/metrics`)).get('guest_server_event_send_failures_total') ?? 0;
    const failuresBefore = await refusals();
    await writeFile(file, `${TOKEN}\n${OTHER_TOKEN}\n`);
    await reload(server, 'server');
    await reload(agent, 'agent');
    await writeFile(file, `${OTHER_TOKEN}\n${TOKEN}\n`);
    await reload(server, 'server');   // sends NEW now; the agent still sends OLD: both accept both
    guest.answering = false;          // a loss while the two differ
    await waitFor(() => stack.vim.records.some((r) => isFailedAlarm(r, uuid)), 10_000, 'the loss alarm at the VIM', () => stack.report());
    await reload(agent, 'agent');
    await writeFile(file, `${OTHER_TOKEN}\n`);
    await reload(server, 'server');
    await reload(agent, 'agent');
    expect(await refusals(), 'event deliveries refused or failed during the rotation').toBe(failuresBefore);
    // NEW is what both send and accept now (OLD only until token_rotation_window_secs has passed).
    const res = await fetch(`${stack.serverUrl}/v1/instances`, { headers: { authorization: `Bearer ${OTHER_TOKEN}` } });
    expect(res.status).toBe(200);
    expect((await healthOf(`${stack.serverUrl}/healthz`)).body.reasons ?? []).toEqual([]);
  }, 90_000);

  it('lifecycle: a taken port makes either daemon exit 1; SIGTERM stops both with stdout a closed pipe', async () => {
    const stack = await Stack.create();
    const taken = await listenOn(undefined);
    const port = (taken.server.address() as { port: number }).port;
    await writeFile(join(stack.dir, 'a.ini'), '[agent]\nrx_host = 127.0.0.1\n');
    const agent = await runToExit(AGENT_BIN, ['--config', join(stack.dir, 'a.ini'), '--port', String(await freePort()), '--vim-cmd-port', String(port)]);
    expect(agent.code, agent.stderr).toBe(1);
    expect(agent.stderr).toContain('EADDRINUSE');
    await writeFile(join(stack.dir, 's.ini'), '[client]\nbind_address = 127.0.0.1\n');
    const server = await runToExit(SERVER_BIN, ['--config', join(stack.dir, 's.ini'), '--port', String(port), '--channel-dir', stack.channelDir, '--agent-url', 'http://127.0.0.1:9']);
    expect(server.code, server.stderr).toBe(1);

    for (const [bin, args, health] of [
      [AGENT_BIN, ['--config', join(stack.dir, 'a.ini'), '--port', String(stack.ports.rx), '--vim-cmd-port', String(stack.ports.vim), '--vim-event-url', stack.vim.url], `${stack.agentUrl}/healthz`],
      [SERVER_BIN, ['--config', join(stack.dir, 's.ini'), '--port', String(stack.ports.server), '--channel-dir', stack.channelDir, '--agent-url', stack.agentUrl], `${stack.serverUrl}/healthz`],
    ] as const) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
      onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
      const exited = once(child, 'exit');
      await waitFor(async () => (await fetch(health).then((r) => r.status, () => 0)) !== 0, 15_000, `${bin} answering`);
      child.stdout.destroy();   // the reader of its logs is gone: every line is EPIPE
      await fetch(health).catch(() => undefined);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code, signal] = await exited as [number | null, NodeJS.Signals | null];
      clearTimeout(timer);
      expect({ code, signal }, bin).toEqual({ code: 0, signal: null });
    }
  }, 90_000);
});

/** A channel socket whose guest sends a new init every 10 ms and answers nothing. */
async function reinitLoop(path: string): Promise<{ readonly connected: boolean }> {
  const state = { connected: false };
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((socket) => {
    state.connected = true;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    const timer = setInterval(() => {
      socket.write(`\n{"version":3,"revision":1,"msg_type":"init","sequence":0,"invocation_id":${++n},"name":"loop","heartbeat_interval_ms":400,"vote_secs":8,"shutdown_notice_secs":8,"suspend_notice_secs":8,"resume_notice_secs":8,"restart_secs":60,"corrective_action":"reboot"}\n`);
    }, 10);
    socket.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return state;
}

/** A listening socket (a UNIX path, or TCP on a free loopback port) that counts connections. */
async function listenOn(path: string | undefined): Promise<{ readonly server: Server; readonly connections: number }> {
  const state = { server: createServer((s) => { state.connections++; s.destroy(); }), connections: 0 };
  await new Promise<void>((resolve) => (path === undefined ? state.server.listen(0, '127.0.0.1', resolve) : state.server.listen(path, resolve)));
  onTestFinished(() => new Promise<void>((resolve) => state.server.close(() => resolve())));
  return state;
}
