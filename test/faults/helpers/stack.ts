/**
 * The fault-injection stack: guest-agent and guest-server as real processes (their dist/bin.js) on free
 * loopback ports with temp INI configs, the test VIM listener (the guest-agent's FakeVim, with the real
 * VIM's no-reply quirk), and helpers to provision instances, read metrics and RSS, and kill -9 a daemon.
 * Every process, server and temp dir is registered for cleanup with onTestFinished. The processes themselves
 * (bin paths, free ports, output capture, kill -9) are test/helpers/daemon.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { FakeVim, type VimRecord } from '../../../packages/guest-agent/test/helpers/fake-vim.js';
import { AGENT_BIN, Daemon, SERVER_BIN, freePort } from '../../helpers/daemon.js';

export const HOSTNAME = 'compute-0';
export const HOST_UUID = '11111111-1111-4111-8111-111111111111';

/** A uuid per index: 36 characters, unique, stable across runs. */
export function uuidOf(i: number): string {
  return `4a7c0f3e-8d2b-4c61-9e5a-${i.toString(16).padStart(12, '0')}`;
}

export interface StackOptions {
  /** hbs_failure_threshold of the server (default 1). */
  readonly failureThreshold?: number;
  /** The agent's audit period, s (default 2). */
  readonly auditSecs?: number;
  /** Extra lines of the agent's [agent] and the server's [client] section (a token_file, say). */
  readonly agentIni?: string;
  readonly serverIni?: string;
  /** false: no advertise_url, so the server advertises http://<hostname>:<port> (default true). */
  readonly advertise?: boolean;
}

/** The agent, the server and the VIM of one test, with their ports fixed so a restart reuses them. */
export class Stack {
  readonly dir: string;
  readonly channelDir: string;
  readonly vim: FakeVim;
  readonly ports: { readonly rx: number; readonly vim: number; readonly server: number };
  readonly #options: StackOptions;
  agent: Daemon | undefined;
  server: Daemon | undefined;

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

  async startAgent(): Promise<Daemon> {
    const config = join(this.dir, 'agent.ini');
    await writeFile(config, `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = ${this.#options.auditSecs ?? 2}\n${this.#options.agentIni ?? ''}`);
    const args = ['--config', config, '--port', String(this.ports.rx), '--vim-cmd-port', String(this.ports.vim), '--vim-event-url', this.vim.url, '--log-level', 'info'];
    this.agent = new Daemon('guest-agent', AGENT_BIN, args, `${this.agentUrl}/healthz`);
    await this.agent.waitHealthy();
    return this.agent;
  }

  async startServer(): Promise<Daemon> {
    const config = join(this.dir, 'server.ini');
    const advertise = this.#options.advertise === false ? '' : `advertise_url = ${this.serverUrl}\n`;
    const ini = `[client]\nbind_address = 127.0.0.1\nhbs_failure_threshold = ${this.#options.failureThreshold ?? 1}\nhbs_pulse_period = 100\n${advertise}search_audit_secs = 5\n${this.#options.serverIni ?? ''}`;
    await writeFile(config, ini);
    const args = ['--config', config, '--channel-dir', this.channelDir, '--agent-url', this.agentUrl, '--port', String(this.ports.server), '--hostname', HOSTNAME, '--log-level', 'info'];
    this.server = new Daemon('guest-server', SERVER_BIN, args, `${this.serverUrl}/healthz`);
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
