/** The real bin (issue 4 items 6–7): exit code 2 on bad config, pidfile, SIGHUP reload, SIGTERM within the deadline. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ga-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function run(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Resolves with the first JSON log line whose msg matches. */
function waitForLog(child: ChildProcess, msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line; got ${buffer}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (!line.includes(msg)) continue;
        try {
          const json = JSON.parse(line) as Record<string, unknown>;
          if (json['msg'] === msg) {
            clearTimeout(timer);
            resolve(json);
            return;
          }
        } catch {
          // partial line: wait for more
        }
      }
    });
  });
}

describe('guest-agent bin', () => {
  it('exits 2 naming the key on a bad config, and on an unknown flag', async () => {
    const dir = await tempDir();
    const ini = join(dir, 'guest.ini');
    await writeFile(ini, '[agent]\nvim_cmd_port = many\n');
    const child = run(['--config', ini]);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toContain('[agent] vim_cmd_port');
    const flag = run(['--config', ini, '--nope']);
    const [flagCode] = (await once(flag, 'exit')) as [number];
    expect(flagCode).toBe(2);
  });

  it('writes its pidfile, reloads on SIGHUP, stops on SIGTERM with exit 0 and removes the pidfile', async () => {
    const dir = await tempDir();
    const ini = join(dir, 'guest.ini');
    const pidfile = join(dir, 'agent.pid');
    await writeFile(ini, '[agent]\nrx_port = 0\nvim_cmd_port = 0\nrx_host = 127.0.0.1\nvim_event_url = http://127.0.0.1:9\n');
    const child = run(['--config', ini, '--pidfile', pidfile, '--log-level', 'info']);
    const ready = await waitForLog(child, 'guest-agent ready');
    expect(ready).toMatchObject({ rx: { address: '127.0.0.1' }, vim: { address: '127.0.0.1' } });
    expect((await readFile(pidfile, 'utf8')).trim()).toBe(String(child.pid));
    const reloaded = waitForLog(child, 'reload complete');
    child.kill('SIGHUP');
    await reloaded;
    const started = performance.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(performance.now() - started).toBeLessThan(8_000);
    await expect(readFile(pidfile, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
