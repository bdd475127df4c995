/**
 * guest-agent and guest-server as real processes (their dist/bin.js), shared by the cross-package tests
 * (test/integration, test/faults, test/e2e): bin paths, free loopback ports, and one Daemon class with
 * output capture (in memory, and in a log file when given), a /healthz wait, SIGTERM-then-SIGKILL stop
 * and kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const AGENT_BIN = join(REPO, 'packages/guest-agent/dist/bin.js');
export const SERVER_BIN = join(REPO, 'packages/guest-server/dist/bin.js');

/** Why the daemons cannot run yet (not built). */
export function missingDaemons(): string[] {
  return [SERVER_BIN, AGENT_BIN].filter((bin) => !existsSync(bin)).map((bin) => `${bin} not built: npm run build`);
}

/** A free loopback port (the daemons take fixed ports from their config). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DaemonOptions {
  /** Also write the whole output to this file (for log() and errorLines()). */
  readonly logPath?: string;
  /** How much of the output `output` keeps, characters (default 30 000). */
  readonly keepChars?: number;
  /** Poll interval of waitHealthy, ms (default: waitFor's). */
  readonly healthPollMs?: number;
}

/** One daemon process: `node BIN ARGS`, its stdout and stderr kept for failure messages. */
export class Daemon {
  readonly name: string;
  readonly healthUrl: string;
  readonly logPath: string | undefined;
  /** The last `keepChars` characters of stdout and stderr. */
  output = '';
  readonly exited: Promise<DaemonExit>;
  #exit: DaemonExit | undefined;
  readonly #child: ChildProcess;
  readonly #healthPollMs: number | undefined;

  constructor(name: string, bin: string, args: readonly string[], healthUrl: string, options: DaemonOptions = {}) {
    this.name = name;
    this.healthUrl = healthUrl;
    this.logPath = options.logPath;
    this.#healthPollMs = options.healthPollMs;
    const keepChars = options.keepChars ?? 30_000;
    // guest-server keeps state in its state directory (issue 12): a test that gives none gets a fresh one,
    // never the shared default /var/lib/guest-server. Tests of restarts pass their own --state-dir.
    let ownStateDir: string | undefined;
    if (bin === SERVER_BIN && !args.includes('--state-dir')) {
      ownStateDir = mkdtempSync(join(tmpdir(), 'gss-'));
      args = [...args, '--state-dir', ownStateDir];
    }
    this.#child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-keepChars);
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    if (options.logPath !== undefined) {
      const log = createWriteStream(options.logPath);
      this.#child.stdout?.pipe(log, { end: false });
      this.#child.stderr?.pipe(log, { end: false });
    }
    this.exited = new Promise((done) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        if (ownStateDir !== undefined) rmSync(ownStateDir, { recursive: true, force: true });
        done(this.#exit);
      });
    });
  }

  /** How it exited; undefined while it runs. */
  get exit(): DaemonExit | undefined {
    return this.#exit;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** GET /healthz answered 2xx; throws (with the output) once the process has exited. */
  async isHealthy(): Promise<boolean> {
    if (!this.running) throw new Error(`${this.name} exited ${JSON.stringify(this.#exit ?? { code: this.#child.exitCode, signal: this.#child.signalCode })}:\n${await this.log()}`);
    try {
      const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.isHealthy(), timeoutMs, `${this.name} /healthz`, undefined, this.#healthPollMs);
  }

  /** The last 6000 characters of the output (of the log file when there is one). */
  async log(): Promise<string> {
    if (this.logPath === undefined) return this.output.slice(-6000);
    return (await readFile(this.logPath, 'utf8').catch(() => '')).slice(-6000);
  }

  /** Log lines at level error or fatal, and any line that is not pino JSON (a stack trace, a crash). */
  async errorLines(): Promise<string[]> {
    const text = this.logPath === undefined ? this.output : await readFile(this.logPath, 'utf8').catch(() => '');
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

  /** SIGTERM, then SIGKILL after `deadlineMs`; resolves with how it exited (at once if it already had). */
  async stop(deadlineMs = 5_000): Promise<DaemonExit> {
    if (!this.running) return this.exited;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), deadlineMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<DaemonExit> {
    if (this.running) this.#child.kill('SIGKILL');
    return this.exited;
  }
}
