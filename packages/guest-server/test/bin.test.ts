/** The real program as a child process: `guest-server --config FILE …` heartbeats a guest, SIGHUP reloads, SIGTERM stops. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { UUID_A, startAgent, startGuest, tempDir, until } from './helpers/harness.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('bin', () => {
  it('runs from an INI file, reports to the agent, reloads on SIGHUP and exits 0 on SIGTERM removing its pidfile', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A);
    const ini = join(dir, 'guest.ini');
    const pidfile = join(dir, 'gs.pid');
    const iniText = (threshold: number): string =>
      `[agent]\nrx_port = 2401\n[client]\nrx_port = 2411\nhbs_failure_threshold = ${threshold}\nhbs_pulse_period = 50\nbind_address = 127.0.0.1\n[timeouts]\nstart_delay = 1\n[debug]\ndebug_fsm = 0\n`;
    await writeFile(ini, iniText(1));
    const child = spawn(process.execPath, [BIN, '--config', ini, '--channel-dir', dir, '--agent-url', agent.url, '--port', '0', '--hostname', 'compute-9', '--pidfile', pidfile, '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    onTestFinished(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 10_000, 'running from the child');
    expect(agent.events[0]).toMatchObject({ kind: 'server-ready', hostname: 'compute-9' });
    await until(() => existsSync(pidfile), 5000, 'pidfile');
    expect((await readFile(pidfile, 'utf8')).trim()).toBe(String(child.pid));
    expect(guest.messages('init_ack')).toHaveLength(1);
    await writeFile(ini, iniText(3));
    child.kill('SIGHUP');
    await until(() => stdout.includes('configuration reloaded'), 5000, 'reload log');
    expect(stdout).toContain('"failureThreshold":3');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });

  it('exits 2 naming a bad key', async () => {
    const dir = await tempDir();
    const ini = join(dir, 'bad.ini');
    await writeFile(ini, '[client]\nhbs_pulse_period = fast\n');
    const child = spawn(process.execPath, [BIN, '--config', ini], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('[client] hbs_pulse_period');
  });
});
