/**
 * The fault-injection stack: guest-agent and guest-server as real processes (their dist/bin.js) on free
 * loopback ports with temp INI configs, the test VIM listener (the guest-agent's FakeVim, with the real
 * VIM's no-reply quirk), and helpers to provision instances, read metrics and RSS, and kill -9 a daemon.
 * Every process, server and temp dir is registered for cleanup with onTestFinished.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { FakeVim, type VimRecord } from '../../../packages/guest-agent/test/helpers/fake-vim.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const AGENT_BIN = join(REPO, 'packages/guest-agent/dist/bin.js');
const SERVER_BIN = join(REPO, 'packages/guest-server/dist/bin.js');

export const HOSTNAME = 'compute-0';
export const HOST_UUID = '11111111-1111-4111-8111-111111111111';

/** A uuid per index: 36 characters, unique, stable across runs. */
export function uuidOf(i: number): string {
  return `4a7c0f3e-8d2b-4c61-9e5a-${i.toString(16).padStart(12, '0')}`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Polls until `check` holds; rejects naming `what` after timeoutMs (never a fixed sleep as the assertion). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, report?: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${report === undefined ? '' : `\n${report()}`}`);
    await new Promise((tick) => setTimeout(tick, 25));
  }
}

/** One daemon process; its output is kept (last 30 kB) for failure messages. */
export class Proc {
  readonly name: string;
  readonly healthUrl: string;
  output = '';
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(name: string, bin: string, args: readonly string[], healthUrl: string) {
    this.name = name;
    this.healthUrl = healthUrl;
    this.#child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-30_000);
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.exited = new Promise((done) => this.#child.once('exit', (code, signal) => done({ code, signal })));
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => {
      if (!this.running) throw new Error(`${this.name} exited:\n${this.output}`);
      try {
        const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    }, timeoutMs, `${this.name} /healthz`);
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface StackOptions {
  /** hbs_failure_threshold of the server (default 1). */
  readonly failureThreshold?: number;
  /** The agent's audit period, s (default 2). */
  readonly auditSecs?: number;
}

/** The agent, the server and the VIM of one test, with their ports fixed so a restart reuses them. */
export class Stack {
  readonly dir: string;
  readonly channelDir: string;
  readonly vim: FakeVim;
  readonly ports: { readonly rx: number; readonly vim: number; readonly server: number };
  readonly #options: StackOptions;
  agent: Proc | undefined;
  server: Proc | undefined;

  private constructor(dir: string, vim: FakeVim, ports: Stack['ports'], options: StackOptions) {
    this.dir = dir;
    this.channelDir = join(dir, 'ch');
    this.vim = vim;
    this.ports = ports;
    this.#options = options;
  }

  /** Temp dir, VIM listener (which knows the host, so the agent's VIM audit restores it), free ports. */
  static async create(options: StackOptions = {}): Promise<Stack> {
    const dir = await mkdtemp(join(tmpdir(), 'gf-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const vim = new FakeVim({ hosts: new Map([[HOSTNAME, { uuid: HOST_UUID, state: 'enabled' }]]), hostInstances: new Map([[HOST_UUID, []]]) });
    await vim.start();
    onTestFinished(() => vim.close());
    const stack = new Stack(dir, vim, { rx: await freePort(), vim: await freePort(), server: await freePort() }, options);
    await mkdir(stack.channelDir);
    onTestFinished(async () => {
      await stack.server?.stop();
      await stack.agent?.stop();
    });
    return stack;
  }

  get agentUrl(): string {
    return `http://127.0.0.1:${this.ports.rx}`;
  }

  get serverUrl(): string {
    return `http://127.0.0.1:${this.ports.server}`;
  }

  async startAgent(): Promise<Proc> {
    const config = join(this.dir, 'agent.ini');
    await writeFile(config, `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = ${this.#options.auditSecs ?? 2}\n`);
    const args = ['--config', config, '--port', String(this.ports.rx), '--vim-cmd-port', String(this.ports.vim), '--vim-event-url', this.vim.url, '--log-level', 'info'];
    this.agent = new Proc('guest-agent', AGENT_BIN, args, `${this.agentUrl}/healthz`);
    await this.agent.waitHealthy();
    return this.agent;
  }

  async startServer(): Promise<Proc> {
    const config = join(this.dir, 'server.ini');
    const ini = `[client]\nbind_address = 127.0.0.1\nhbs_failure_threshold = ${this.#options.failureThreshold ?? 1}\nhbs_pulse_period = 100\nadvertise_url = ${this.serverUrl}\nsearch_audit_secs = 5\n`;
    await writeFile(config, ini);
    const args = ['--config', config, '--channel-dir', this.channelDir, '--agent-url', this.agentUrl, '--port', String(this.ports.server), '--hostname', HOSTNAME, '--log-level', 'info'];
    this.server = new Proc('guest-server', SERVER_BIN, args, `${this.serverUrl}/healthz`);
    await this.server.waitHealthy();
    return this.server;
  }

  /** The last lines of both daemons' logs, for failure messages. */
  report(): string {
    return `--- agent ---\n${this.agent?.output.slice(-5000) ?? ''}\n--- server ---\n${this.server?.output.slice(-5000) ?? ''}`;
  }

  /** The VIM's part: host known and enabled, instances created with heartbeat reporting enabled (vim §1.4). */
  async provision(uuids: readonly string[]): Promise<void> {
    await this.#vimCall('POST', `/v1/hosts/${HOST_UUID}`, { uuid: HOST_UUID, hostname: HOSTNAME });
    await this.#vimCall('PUT', `/v1/hosts/${HOST_UUID}/enable`, { uuid: HOST_UUID, hostname: HOSTNAME });
    const listed = this.vim.hostInstances.get(HOST_UUID) ?? [];
    for (const uuid of uuids) {
      await this.#vimCall('POST', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: ['heartbeat'] });
      await this.#vimCall('PATCH', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: [{ service: 'heartbeat', state: 'enabled' }] });
      // What the VIM answers the agent's instance audit (B) after an agent restart.
      listed.push({ uuid, hostname: HOSTNAME, state: 'enabled' });
    }
    this.vim.hostInstances.set(HOST_UUID, listed);
  }

  async #vimCall(method: string, path: string, body: object): Promise<void> {
    const headers = { 'user-agent': 'vim/1.0', 'content-type': 'application/json' };
    const res = await fetch(`http://127.0.0.1:${this.ports.vim}${path}`, { method, headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`VIM ${method} ${path} → ${res.status} ${text}`);
  }

  /** guest-server's Prometheus metrics (see metricsOf). */
  async serverMetrics(): Promise<Map<string, number>> {
    return metricsOf(`${this.serverUrl}/metrics`);
  }
}

/** Prometheus text as a map: `name` → sum over its series, `name{labels}` → one series. */
export async function metricsOf(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    // Both the sum over labels (by name) and each labelled series (name{labels}).
    const name = m[1] ?? '';
    out.set(name, (out.get(name) ?? 0) + Number(m[3]));
    if (m[2] !== undefined) out.set(`${name}${m[2]}`, Number(m[3]));
  }
  return out;
}

/** VmRSS of a process, in kB (/proc/<pid>/status). */
export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

type EventData = { services?: { state?: string; status?: string }[] };
const dataOf = (r: VimRecord): EventData => ((r.json as { 'event-data'?: EventData } | undefined)?.['event-data'] ?? {});
const uuidOfRecord = (r: VimRecord): string => (r.json as { uuid?: string } | undefined)?.uuid ?? '';

/** A PATCH event of this type for this instance. */
export function isVimEvent(r: VimRecord, type: 'service' | 'alarm' | 'action', uuid?: string): boolean {
  return r.method === 'PATCH' && (r.json as { 'event-type'?: string } | undefined)?.['event-type'] === type
    && (uuid === undefined || uuidOfRecord(r) === uuid);
}

/** The failed alarm of an instance (heartbeat loss reached the VIM). */
export function isFailedAlarm(r: VimRecord, uuid?: string): boolean {
  return isVimEvent(r, 'alarm', uuid) && dataOf(r).services?.[0]?.state === 'failed';
}

/** A service event saying heartbeating is enabled. */
export function isHeartbeatEnabled(r: VimRecord, uuid?: string): boolean {
  return isVimEvent(r, 'service', uuid) && dataOf(r).services?.[0]?.status === 'enabled';
}

export { uuidOfRecord, type VimRecord };
