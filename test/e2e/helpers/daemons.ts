/**
 * guest-server and guest-agent as real processes (their dist/bin.js), with INI configs in a temp dir,
 * loopback ports and their output kept in log files for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWriteStream } from 'node:fs';
import { waitFor } from './wait.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_BIN = join(REPO, 'packages/guest-server/dist/bin.js');
export const AGENT_BIN = join(REPO, 'packages/guest-agent/dist/bin.js');

/** A free loopback port (the daemons take fixed ports from their config). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One daemon process. */
export class Daemon {
  readonly name: string;
  readonly logPath: string;
  readonly healthUrl: string;
  readonly exited: Promise<DaemonExit>;
  #exit: DaemonExit | undefined;
  readonly #child: ChildProcess;

  constructor(name: string, bin: string, args: readonly string[], logPath: string, healthUrl: string) {
    this.name = name;
    this.logPath = logPath;
    this.healthUrl = healthUrl;
    const log = createWriteStream(logPath);
    this.#child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout?.pipe(log, { end: false });
    this.#child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolveExit) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
      });
    });
  }

  get exit(): DaemonExit | undefined {
    return this.#exit;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  async isHealthy(): Promise<boolean> {
    if (this.#exit !== undefined) throw new Error(`${this.name} exited ${JSON.stringify(this.#exit)}:\n${await this.log()}`);
    try {
      const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.isHealthy(), timeoutMs, `${this.name} /healthz`, 50);
  }

  async log(): Promise<string> {
    return (await readFile(this.logPath, 'utf8').catch(() => '')).slice(-6000);
  }

  /** Log lines at level error or fatal, and any line that is not pino JSON (a stack trace, a crash). */
  async errorLines(): Promise<string[]> {
    const text = await readFile(this.logPath, 'utf8').catch(() => '');
    return text.split('\n').filter((line) => {
      if (line.trim().length === 0) return false;
      try {
        const entry = JSON.parse(line) as { level?: unknown };
        return typeof entry.level !== 'number' || entry.level >= 50;
      } catch {
        return true;
      }
    });
  }

  /** SIGTERM, then SIGKILL after a deadline. */
  async stop(deadlineMs = 5_000): Promise<DaemonExit> {
    if (this.#exit === undefined) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), deadlineMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export interface ServerOptions {
  readonly dir: string;
  readonly channelDir: string;
  readonly agentUrl: string;
  readonly hostname: string;
  readonly port: number;
}

/** guest-server --config FILE --channel-dir DIR --agent-url URL --port N --hostname NAME. */
export async function startGuestServer(options: ServerOptions): Promise<Daemon> {
  const config = join(options.dir, 'guest-server.ini');
  await writeFile(config, [
    '[client]',
    `rx_port = ${options.port}`,
    'bind_address = 127.0.0.1',
    'hbs_failure_threshold = 1',
    'hbs_pulse_period = 400',
    `advertise_url = http://127.0.0.1:${options.port}`,
    'search_audit_secs = 180',
    '',
  ].join('\n'));
  const args = [
    '--config', config, '--channel-dir', options.channelDir, '--agent-url', options.agentUrl,
    '--port', String(options.port), '--hostname', options.hostname, '--log-level', 'info',
  ];
  return new Daemon('guest-server', SERVER_BIN, args, join(options.dir, 'guest-server.log'), `http://127.0.0.1:${options.port}/healthz`);
}

export interface AgentOptions {
  readonly dir: string;
  readonly port: number;
  readonly vimCmdPort: number;
  readonly vimEventUrl: string;
}

/** guest-agent --config FILE --port N --vim-cmd-port N --vim-event-url URL. */
export async function startGuestAgent(options: AgentOptions): Promise<Daemon> {
  const config = join(options.dir, 'guest-agent.ini');
  await writeFile(config, [
    '[agent]',
    `rx_port = ${options.port}`,
    `vim_cmd_port = ${options.vimCmdPort}`,
    'vim_cmd_host = 127.0.0.1',
    'rx_host = 127.0.0.1',
    'hbs_failure_threshold = 1',
    'audit_period_secs = 2',
    '',
  ].join('\n'));
  const args = [
    '--config', config, '--port', String(options.port), '--vim-cmd-port', String(options.vimCmdPort),
    '--vim-event-url', options.vimEventUrl, '--log-level', 'info',
  ];
  return new Daemon('guest-agent', AGENT_BIN, args, join(options.dir, 'guest-agent.log'), `http://127.0.0.1:${options.port}/healthz`);
}

/** Why the daemons cannot run yet (not built, or not written yet). */
export function missingDaemons(): string[] {
  return [SERVER_BIN, AGENT_BIN].filter((bin) => !existsSync(bin)).map((bin) => `${bin} not built: npm run build`);
}
