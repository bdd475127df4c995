/**
 * guest-agent and guest-server of the integration test, with temp INI configs on loopback ports; the
 * process itself (bin paths, free ports, output kept for the failure message, SIGTERM then SIGKILL on
 * stop) is test/helpers/daemon.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { FakeVim } from '../../../packages/guest-agent/test/helpers/fake-vim.js';
import { AGENT_BIN, Daemon, SERVER_BIN, freePort } from '../../helpers/daemon.js';

/** A daemon whose stop() resolves with its exit code alone, as this test asserts it. */
export class ExitCodeDaemon {
  readonly #daemon: Daemon;

  constructor(daemon: Daemon) {
    this.#daemon = daemon;
  }

  get name(): string {
    return this.#daemon.name;
  }

  /** The last 20 kB of stdout and stderr. */
  get output(): string {
    return this.#daemon.output;
  }

  waitHealthy(timeoutMs?: number): Promise<void> {
    return this.#daemon.waitHealthy(timeoutMs);
  }

  async stop(): Promise<number | null> {
    return (await this.#daemon.stop()).code;
  }
}

export async function startAgentProcess(dir: string, ports: { rx: number; vim: number }, vimEventUrl: string): Promise<ExitCodeDaemon> {
  const config = join(dir, 'guest.ini');
  // One guest.ini for both daemons (daemons §7.1): the agent reads [agent] and ignores [client].
  await writeFile(config, '[agent]\nrx_port = 2401\nvim_cmd_port = 2410\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 2\n');
  const args = ['--config', config, '--port', String(ports.rx), '--vim-cmd-port', String(ports.vim), '--vim-event-url', vimEventUrl, '--log-level', 'info'];
  return new ExitCodeDaemon(new Daemon('guest-agent', AGENT_BIN, args, `http://127.0.0.1:${ports.rx}/healthz`, { keepChars: 20_000 }));
}

export async function startServerProcess(dir: string, port: number, channelDir: string, agentUrl: string, hostname: string): Promise<ExitCodeDaemon> {
  const config = join(dir, 'guest-server.ini');
  await writeFile(config, `[client]\nrx_port = ${port}\nbind_address = 127.0.0.1\nhbs_failure_threshold = 1\nhbs_pulse_period = 400\nadvertise_url = http://127.0.0.1:${port}\n`);
  const args = ['--config', config, '--channel-dir', channelDir, '--agent-url', agentUrl, '--port', String(port), '--hostname', hostname, '--log-level', 'info'];
  return new ExitCodeDaemon(new Daemon('guest-server', SERVER_BIN, args, `http://127.0.0.1:${port}/healthz`, { keepChars: 20_000 }));
}

/** One VIM command call (vim §1.2): the VIM's headers, a JSON body with Content-Length. */
export async function vimCall(vimPort: number, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'user-agent': 'vim/1.0', accept: 'application/json', 'content-type': 'application/json', 'x-auth-token': 't' };
  const res = await fetch(`http://127.0.0.1:${vimPort}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}

/** A provisioned chain: a temp dir with a channel dir, the test VIM listener, and both daemons as processes. */
export interface ProvisionedChain {
  readonly dir: string;
  readonly channelDir: string;
  readonly vim: FakeVim;
  readonly ports: { readonly rx: number; readonly vim: number; readonly server: number };
  readonly agent: ExitCodeDaemon;
  readonly server: ExitCodeDaemon;
  /** The daemons' last output, to join a timeout's error. */
  report(): string;
}

/**
 * Starts the VIM listener, guest-agent and guest-server (all cleaned up at the test's end), then provisions
 * the host and the instance with heartbeat enabled, as the VIM's host and instance FSMs do; each call must
 * answer 200.
 */
export async function startProvisionedChain(prefix: string, ids: { readonly hostUuid: string; readonly uuid: string; readonly hostname: string }): Promise<ProvisionedChain> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const channelDir = join(dir, 'ch');
  await mkdir(channelDir);
  const vim = new FakeVim();
  await vim.start();
  onTestFinished(() => vim.close());
  const ports = { rx: await freePort(), vim: await freePort(), server: await freePort() };
  const daemons: ExitCodeDaemon[] = [];
  onTestFinished(async () => {
    for (const d of daemons.reverse()) await d.stop();
  });
  const agent = await startAgentProcess(dir, { rx: ports.rx, vim: ports.vim }, vim.url);
  daemons.push(agent);
  const server = await startServerProcess(dir, ports.server, channelDir, `http://127.0.0.1:${ports.rx}`, ids.hostname);
  daemons.push(server);
  await agent.waitHealthy();
  await server.waitHealthy();
  const { hostUuid, uuid, hostname } = ids;
  expect((await vimCall(ports.vim, 'POST', `/v1/hosts/${hostUuid}`, { uuid: hostUuid, hostname })).status).toBe(200);
  expect((await vimCall(ports.vim, 'PUT', `/v1/hosts/${hostUuid}/enable`, { uuid: hostUuid, hostname })).status).toBe(200);
  expect((await vimCall(ports.vim, 'POST', `/v1/instances/${uuid}`, { uuid, hostname, services: ['heartbeat'] })).status).toBe(200);
  expect((await vimCall(ports.vim, 'PATCH', `/v1/instances/${uuid}`, { uuid, hostname, services: [{ service: 'heartbeat', state: 'enabled' }] })).status).toBe(200);
  const report = (): string => `--- agent ---\n${agent.output.slice(-4000)}\n--- server ---\n${server.output.slice(-4000)}`;
  return { dir, channelDir, vim, ports, agent, server, report };
}
