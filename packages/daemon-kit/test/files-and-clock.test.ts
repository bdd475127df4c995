/** Pidfiles (daemons §7.4), the real clock and random source, and the root logger. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRootLogger, MAX_TIMER_DELAY_MS, removePidfile, systemClock, systemRandom, wallClockMs, writePidfile } from '../src/index.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('pidfile', () => {
  it('writes the pid with a newline, replacing a stale file', async () => {
    const path = join(await tempDir(), 'guestServer.pid');
    await writeFile(path, '99999\n');
    await writePidfile(path);
    expect(await readFile(path, 'utf8')).toBe(`${process.pid}\n`);
    await writePidfile(path, 1234);
    expect(await readFile(path, 'utf8')).toBe('1234\n');
  });

  it('removes the file only while it names this process', async () => {
    const path = join(await tempDir(), 'guestAgent.pid');
    await writePidfile(path, 4321);
    await removePidfile(path, 1111);
    expect(await readFile(path, 'utf8')).toBe('4321\n');
    await removePidfile(path, 4321);
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removes a file naming process.pid by default', async () => {
    const path = join(await tempDir(), 'x.pid');
    await writePidfile(path);
    await removePidfile(path);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('ignores a missing file', async () => {
    await expect(removePidfile(join(await tempDir(), 'absent.pid'))).resolves.toBeUndefined();
  });

  it('fails clearly when the directory does not exist', async () => {
    await expect(writePidfile(join(await tempDir(), 'no', 'such.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('systemClock', () => {
  it('is monotonic', () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
  });

  it('fires a timer and can clear one', async () => {
    let cleared = false;
    const handle = systemClock.setTimeout(() => (cleared = true), 1);
    systemClock.clearTimeout(handle);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    expect(cleared).toBe(false);
  });

  it('treats a negative delay as 0', async () => {
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, -10));
  });

  it('clamps a delay Node would fire at once (> 2^31−1 ms) instead of firing it', async () => {
    let fired = false;
    const handle = systemClock.setTimeout(() => (fired = true), 2 ** 40);
    onTestFinished(() => systemClock.clearTimeout(handle));
    // A too-long Node timer fires after 1 ms; ours must still be pending after a later one fires.
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 20));
    expect(fired).toBe(false);
    expect(MAX_TIMER_DELAY_MS).toBe(2147483647);
  });

  it('sleeps a fraction of a millisecond, blocking timers meanwhile', () => {
    let fired = false;
    systemClock.setTimeout(() => (fired = true), 0);
    const before = performance.now();
    systemClock.sleep?.(2.5);
    const slept = performance.now() - before;
    expect(slept).toBeGreaterThanOrEqual(2.5);
    expect(fired).toBe(false);
    systemClock.sleep?.(0);
    systemClock.sleep?.(-1);
  });
});

describe('wallClockMs and systemRandom', () => {
  it('give epoch milliseconds and numbers in [0, 1)', () => {
    expect(Math.abs(wallClockMs() - new Date().getTime())).toBeLessThan(1000);
    for (let i = 0; i < 100; i += 1) {
      const r = systemRandom();
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(1);
    }
  });
});

describe('createRootLogger', () => {
  it('creates a named pino logger at the given level', () => {
    const log = createRootLogger('guest-server', 'warn');
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.bindings()).toMatchObject({ name: 'guest-server' });
  });
});
