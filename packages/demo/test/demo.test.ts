/**
 * `npm start` end to end: the demo as a real process with the real guest-agent and guest-server. The
 * faults come after 3 s; the loss and ill-health detections must reach the VIM sink; Ctrl-C cleans up.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { renderTable } from '../src/index.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('npm start (the demo)', () => {
  it('shows the loss and the ill-health of the faulty guests, then stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, '--fault-after-s', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = once(child, 'exit');
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    const hung = async (): Promise<string | undefined> => /FAULT: guest (\w{8}) stops answering/.exec(out)?.[1];
    const sick = async (): Promise<string | undefined> => /FAULT: guest (\w{8}) reports unhealthy/.exec(out)?.[1];
    await expect.poll(hung, { timeout: 40_000, interval: 200 }).toBeDefined();
    const hungId = await hung();
    const sickId = await sick();
    await expect.poll(() => out.includes(`VIM ← ${hungId}: ALARM heartbeat failed (repair-action reboot)`), { timeout: 20_000, interval: 200 }).toBe(true);
    await expect.poll(() => out.includes(`VIM ← ${sickId}: ALARM heartbeat unhealthy (repair-action reboot)`), { timeout: 20_000, interval: 200 }).toBe(true);
    expect(out).toContain(`VIM ← ${hungId}: service heartbeat status disabled`);
    // The vote 2 s after the faults: the agent's reply, then the guest's answer at the VIM.
    const votedId = /VIM → agent: vote "stop" for guest (\w{8})/;
    await expect.poll(() => votedId.exec(out)?.[1], { timeout: 20_000, interval: 200 }).toBeDefined();
    expect(out).toMatch(/VIM ← agent: HTTP 200 \{"uuid":"[^"]+","hostname":"compute-0","action":"stop","timeout":"\d+"\}/);
    await expect.poll(() => out.includes(`VIM ← ${votedId.exec(out)?.[1] ?? ''}: action stop → guest-response "allow"`), { timeout: 20_000, interval: 200 }).toBe(true);
    expect(out).toMatch(/status page: http:\/\/127\.0\.0\.1:\d+\/ui\/#token=\S+/);
    expect(out).toMatch(/instance\s+guest state\s+heartbeat \(agent\)/);
    const dir = /temp dir: (\S+)/.exec(out)?.[1] ?? '';
    expect(existsSync(dir)).toBe(true);

    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(out).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(out).not.toContain('exited unexpectedly');
  });

  it('survives a closed stdout (npm start | head -3): stops its daemons and removes its temp dir (issue 11 item 7)', async () => {
    const child = spawn(process.execPath, [BIN, '--fault-after-s', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const exited = once(child, 'exit');
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    await expect.poll(() => /status page: http/.test(out), { timeout: 40_000, interval: 200 }).toBe(true);
    const dir = /temp dir: (\S+)/.exec(out)?.[1] ?? '';
    expect(existsSync(dir)).toBe(true);
    child.stdout.destroy();   // like `head -3` exiting: the next status line is EPIPE
    const [code] = await exited;
    expect(code, err).toBe(0);
    expect(existsSync(dir)).toBe(false);
    // No daemon of this demo is left: none has the temp dir on its command line.
    const leftovers: string[] = [];
    for (const pid of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(dir)) leftovers.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
    }
    expect(leftovers).toEqual([]);
  }, 60_000);

  it('--help and --version print and exit 0; a bad flag exits 2', async () => {
    const run = async (args: string[]): Promise<[number | null, string]> => {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => { text += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { text += c.toString(); });
      const [code] = await once(child, 'exit') as [number | null];
      return [code, text];
    };
    expect(await run(['--help'])).toEqual([0, expect.stringContaining('usage: npm start -- [--guests N]')]);
    expect(await run(['--version'])).toEqual([0, expect.stringMatching(/^guesthb-demo \d+\.\d+\.\d+\n$/)]);
    expect((await run(['--frob']))[0]).toBe(2);
    expect((await run(['--guests', '9999']))[0]).toBe(2);
  });

  it('renders the status table with one row per guest', () => {
    const lines = renderTable([{ instance: '0123456789abcdef', guestState: 'enabled', hostView: 'heartbeating', latencyMs: 0.25, challenges: 3, misses: 0, fault: '', lastEvent: '' }]);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^01234567\s+enabled\s+heartbeating\s+0\.3 ms\s+3\s+0$/);
  });
});
