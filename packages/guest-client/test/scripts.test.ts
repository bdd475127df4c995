/** The health and event scripts (client §7.4, §9, §10), as real shell scripts in a temp dir. */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '@guesthb/daemon-kit';
import { eventScriptPort, healthScriptPort, runScript } from '../src/index.js';
import { tempDir } from './helpers/temp.js';

const log = pino({ level: 'silent' });

async function script(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, mode);
  return path;
}

describe('health check script', () => {
  it('exit 1 is unhealthy; 0, 2 and death by a signal are healthy; stdout is the log text', async () => {
    const dir = await tempDir();
    const cases: [string, string, string][] = [
      ['echo "File /tmp/unhealthy exists."; exit 1', 'unhealthy', 'File /tmp/unhealthy exists.\n'],
      ['echo fine; exit 0', 'healthy', 'fine\n'],
      ['exit 2', 'healthy', ''],
      ['kill -TERM $$', 'healthy', ''],
    ];
    for (const [i, [body, health, output]] of cases.entries()) {
      const port = healthScriptPort(await script(dir, `h${i}`, body), systemClock, log, 5000);
      expect(await port.start().outcome).toEqual({ health, log: output });
    }
  });

  it('is not run when it is not executable or empty (no verdict)', async () => {
    const dir = await tempDir();
    const notExec = await script(dir, 'noexec', 'exit 1', 0o644);
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    await chmod(empty, 0o755);
    expect(await healthScriptPort(notExec, systemClock, log, 5000).start().outcome).toBeUndefined();
    expect(await healthScriptPort(empty, systemClock, log, 5000).start().outcome).toBeUndefined();
    expect(await healthScriptPort(join(dir, 'missing'), systemClock, log, 5000).start().outcome).toBeUndefined();
  });

  it('a bad interpreter line reads as unhealthy (exec failure = status 1, client §9)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'badshebang');
    await writeFile(path, '#!/nonexistent/interpreter\nexit 0\n');
    await chmod(path, 0o755);
    expect(await healthScriptPort(path, systemClock, log, 5000).start().outcome).toMatchObject({ health: 'unhealthy' });
  });
});

describe('event notification script', () => {
  it('gets "<notification_type> <event>" as two arguments; 0 accept, 1 reject, else error', async () => {
    const dir = await tempDir();
    const args = join(dir, 'args');
    const path = await script(dir, 'ev', `printf '%s|' "$@" > ${args}
case "$2" in stop) echo "File /tmp/vote_no_to_stop exists."; exit 1;; reboot) exit 0;; *) exit 2;; esac`);
    const port = eventScriptPort(path, systemClock, log);
    expect(await port.start('revocable', 'stop').outcome).toEqual({ result: 'reject', log: 'File /tmp/vote_no_to_stop exists.\n' });
    expect(await readFile(args, 'utf8')).toBe('revocable|stop|');
    expect(await port.start('irrevocable', 'reboot').outcome).toEqual({ result: 'accept', log: '' });
    expect(await port.start('irrevocable', 'live_migrate_begin').outcome).toEqual({ result: 'error', log: '' });
    expect(await readFile(args, 'utf8')).toBe('irrevocable|live_migrate_begin|');
  });

  it('a script that is not runnable answers "error"', async () => {
    const dir = await tempDir();
    const port = eventScriptPort(await script(dir, 'noexec', 'exit 0', 0o600), systemClock, log);
    expect(await port.start('revocable', 'stop').outcome).toEqual({ result: 'error', log: '' });
  });

  it('runs without a shell: a path with shell syntax is one file name, not a command', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'pwned');
    const path = await script(dir, `ev; touch ${marker.replace(/\//g, '_')}`, 'echo "$#"; exit 0');
    const port = eventScriptPort(path, systemClock, log);
    expect(await port.start('revocable', 'stop').outcome).toEqual({ result: 'accept', log: '2\n' });
    await expect(readFile(marker)).rejects.toThrow();
  });
});

describe('runScript', () => {
  it('captures at most 256 bytes of stdout and still waits for the script to end', async () => {
    const dir = await tempDir();
    const path = await script(dir, 'big', 'i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done; exit 1');
    const outcome = await runScript(path, [], { clock: systemClock, timeoutMs: 5000 }).outcome;
    expect(outcome.exitCode).toBe(1);
    expect(Buffer.byteLength(outcome.output)).toBe(256);
  });

  it('kills the whole process group at the timeout', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'child.pid');
    const path = await script(dir, 'slow', `sleep 30 & echo $! > ${pidFile}; wait`);
    const started = performance.now();
    const outcome = await runScript(path, [], { clock: systemClock, timeoutMs: 300 }).outcome;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGKILL', killed: true });
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    await expect.poll(() => {
      try {
        process.kill(grandchild, 0);
        return 'alive';
      } catch {
        return 'gone';
      }
    }, { timeout: 3000 }).toBe('gone');
  });

  it('cancel() kills a running script', async () => {
    const dir = await tempDir();
    const run = runScript(await script(dir, 'sleepy', 'sleep 30'), [], { clock: systemClock, timeoutMs: 0 });
    setTimeout(() => run.cancel(), 100);
    expect(await run.outcome).toMatchObject({ killed: true, exitCode: null });
  });
});
