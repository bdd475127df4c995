/**
 * guest-agent and guest-server of the integration test, with temp INI configs on loopback ports; the
 * process itself (bin paths, free ports, output kept for the failure message, SIGTERM then SIGKILL on
 * stop) is test/helpers/daemon.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_BIN, Daemon, SERVER_BIN } from '../../helpers/daemon.js';

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
