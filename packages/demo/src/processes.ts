/** Child daemons of the demo: spawned with `node`, logs to a file, stopped with SIGTERM then SIGKILL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

export function startDaemon(name: string, script: string, args: readonly string[], logPath: string): Daemon {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name, child, logPath, exited,
    stop: async (timeoutMs = 8000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await once(child, 'exit').catch(() => undefined);
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200 or the deadline passes. */
export async function waitHealthy(url: string, deadlineMs: number, daemon: Daemon): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until) {
    if (daemon.child.exitCode !== null) throw new Error(`${daemon.name} exited with code ${daemon.child.exitCode}; see ${daemon.logPath}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${daemon.name} not healthy at ${url} within ${deadlineMs} ms; see ${daemon.logPath}`);
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for a local demo). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
