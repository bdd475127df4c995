/**
 * guest-agent and guest-server as real processes (their dist/bin.js) with temp INI configs on loopback
 * ports; output kept for the failure message. SIGTERM then SIGKILL on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const AGENT_BIN = join(REPO, 'packages/guest-agent/dist/bin.js');
export const SERVER_BIN = join(REPO, 'packages/guest-server/dist/bin.js');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Polls until `check` holds; rejects naming `what` after timeoutMs (never a fixed sleep as the assertion). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((tick) => setTimeout(tick, 25));
  }
}

export class Daemon {
  readonly name: string;
  readonly healthUrl: string;
  output = '';
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(name: string, bin: string, args: readonly string[], healthUrl: string) {
    this.name = name;
    this.healthUrl = healthUrl;
    this.#child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.exited = new Promise((done) => this.#child.once('exit', (code) => done(code)));
  }

  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => {
      if (this.#child.exitCode !== null) throw new Error(`${this.name} exited ${this.#child.exitCode}:\n${this.output}`);
      try {
        const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    }, timeoutMs, `${this.name} /healthz`);
  }

  async stop(): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#child.exitCode;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function startAgentProcess(dir: string, ports: { rx: number; vim: number }, vimEventUrl: string): Promise<Daemon> {
  const config = join(dir, 'guest.ini');
  // One guest.ini for both daemons (daemons §7.1): the agent reads [agent] and ignores [client].
  await writeFile(config, '[agent]\nrx_port = 2401\nvim_cmd_port = 2410\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 2\n');
  const args = ['--config', config, '--port', String(ports.rx), '--vim-cmd-port', String(ports.vim), '--vim-event-url', vimEventUrl, '--log-level', 'info'];
  return new Daemon('guest-agent', AGENT_BIN, args, `http://127.0.0.1:${ports.rx}/healthz`);
}

export async function startServerProcess(dir: string, port: number, channelDir: string, agentUrl: string, hostname: string): Promise<Daemon> {
  const config = join(dir, 'guest-server.ini');
  await writeFile(config, `[client]\nrx_port = ${port}\nbind_address = 127.0.0.1\nhbs_failure_threshold = 1\nhbs_pulse_period = 400\nadvertise_url = http://127.0.0.1:${port}\n`);
  const args = ['--config', config, '--channel-dir', channelDir, '--agent-url', agentUrl, '--port', String(port), '--hostname', hostname, '--log-level', 'info'];
  return new Daemon('guest-server', SERVER_BIN, args, `http://127.0.0.1:${port}/healthz`);
}

/** One VIM command call (vim §1.2): the VIM's headers, a JSON body with Content-Length. */
export async function vimCall(vimPort: number, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'user-agent': 'vim/1.0', accept: 'application/json', 'content-type': 'application/json', 'x-auth-token': 't' };
  const res = await fetch(`http://127.0.0.1:${vimPort}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}
