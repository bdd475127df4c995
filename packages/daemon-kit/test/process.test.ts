/** runMain exit codes, signal shutdown and crash handling in real child processes (DESIGN.md §5, STYLE.md R14). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(mode: string): { child: ChildProcess; done: Promise<Outcome>; stdout: () => string } {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, done, stdout: () => stdout };
}

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('runMain', () => {
  it('exits 0 when main resolves', async () => {
    const outcome = await start('ok').done;
    expect(outcome).toMatchObject({ code: 0, stdout: 'started\n', stderr: '' });
  });

  it('exits 2 with one line naming the key on a ConfigError', async () => {
    const outcome = await start('config').done;
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toBe('child: configuration error: [client] rx_port: must be ≤ 65535\n');
  });

  it('exits 1 with the stack on any other start-up failure', async () => {
    const outcome = await start('crash-start').done;
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^child: failed to start: Error: boom at start\n\s+at /);
  });

  it('exits 1 when a listener fails at start, though another one is up and a timer runs (issue 11 item 7)', async () => {
    const outcome = await start('listen-fail').done;
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^child: failed to start: Error: listen EADDRINUSE/);
  });

  it('SIGTERM stops a daemon whose stdout is a closed pipe, every time (issue 11 item 7)', async () => {
    for (let run = 0; run < 5; run++) {
      const { child, done, stdout } = start('signal-logging');
      await waitFor(() => stdout().includes('"msg":"ready"'));
      child.stdout?.destroy();   // the reader goes away: every later log line is EPIPE
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.kill('SIGTERM');
      const outcome = await done;
      expect(outcome, `run ${run}: ${outcome.stderr}`).toMatchObject({ code: 0, signal: null });
    }
  });

  it('prints the usage and exits 0 on --help, without running main', async () => {
    const outcome = await start('--help').done;
    expect(outcome).toMatchObject({ code: 0, stdout: 'usage: child MODE\n', stderr: '' });
  });

  it('exits 1 when main rejects with a non-Error', async () => {
    const outcome = await start('throw-string').done;
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe('child: failed to start: a bare string\n');
  });
});

describe('installShutdown in a real process', () => {
  it.each([['SIGTERM'], ['SIGINT']] as const)('closes and exits 0 on %s', async (signal) => {
    const run = start('signal');
    await waitFor(() => run.stdout().includes('ready\n'));
    run.child.kill(signal);
    const outcome = await run.done;
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('closed\n');
    const lines = outcome.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; signal?: string });
    // pino's writer may reorder lines on a busy pipe (sonic-boom retries on EAGAIN): compare as a set.
    expect(lines.map((l) => l.msg).sort()).toEqual(['shutdown complete', 'shutdown requested']);
    expect(lines.find((l) => l.msg === 'shutdown requested')?.signal).toBe(signal);
  });
});

describe('installCrashHandlers in a real process', () => {
  it('logs the uncaught error fatally, closes, and exits 1', async () => {
    const outcome = await start('uncaught').done;
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain('closed after crash\n');
    const fatal = outcome.stdout.split('\n').find((l) => l.includes('"level":60'));
    expect(fatal).toContain('uncaught later');
  });
});
