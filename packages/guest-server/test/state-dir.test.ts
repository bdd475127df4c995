/**
 * The state directory (issue 12 item 1): created 0700 (an existing one tightened), an unusable one is a
 * configuration error naming the key, the config keys, and the real program started on a damaged journal:
 * the damage is reported and skipped, what is intact is restored, never a crash.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { pino } from 'pino';
import { ConfigError } from '@guesthb/daemon-kit';
import { Journal } from '@guesthb/outbox';
import { buildConfig, parseCliArgs } from '../src/config.js';
import { JOURNAL_FILE, openStateDir } from '../src/state-dir.js';
import { UUID_A, startAgent, tempDir, until } from './helpers/harness.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const log = pino({ level: 'silent' });

describe('state directory', () => {
  it('is created 0700, and an existing one is tightened to 0700', async () => {
    const dir = join(await tempDir(), 'a', 'state');
    const j1 = await openStateDir(dir, log);
    await j1.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const loose = join(await tempDir(), 'loose');
    await mkdir(loose, { mode: 0o755 });
    await chmod(loose, 0o755);
    const j2 = await openStateDir(loose, log);
    await j2.close();
    expect((await stat(loose)).mode & 0o777).toBe(0o700);
  });

  it('a path that cannot be a directory is a configuration error naming [client] state_dir', async () => {
    const file = join(await tempDir(), 'not-a-dir');
    await writeFile(file, 'x');
    const err = await openStateDir(join(file, 'state'), log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('[client] state_dir');
  });

  it('config: state_dir and init_deadline_secs from the file, --state-dir wins; defaults', () => {
    const base = { osHostname: 'h' };
    expect(buildConfig({ ...base, iniText: undefined, cli: {} })).toMatchObject({ stateDir: '/var/lib/guest-server', initDeadlineMs: undefined });
    const fromFile = buildConfig({ ...base, iniText: '[client]\nstate_dir = /srv/gs\ninit_deadline_secs = 30\n', cli: {} });
    expect(fromFile).toMatchObject({ stateDir: '/srv/gs', initDeadlineMs: 30_000 });
    expect(buildConfig({ ...base, iniText: '[client]\nstate_dir = /srv/gs\n', cli: parseCliArgs(['--state-dir', '/tmp/x']) }).stateDir).toBe('/tmp/x');
    expect(() => buildConfig({ ...base, iniText: '[client]\ninit_deadline_secs = 0\n', cli: {} })).toThrow(/init_deadline_secs/);
  });

  it('the program starts on a damaged journal, reports the damage, and restores what is intact', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    // A journal with a host record and an instance record, then garbage and a torn tail.
    const journal = await Journal.open({ path: join(state, JOURNAL_FILE) });
    journal.put('host', { reporting: false });
    journal.put(`instance/${UUID_A}`, { v: 1, nonsense: true });
    await journal.close();
    await appendFile(join(state, JOURNAL_FILE), Buffer.from([0x67, 0x4a, 0xff, 0xff, 0x00, 0x01, 0x02]));
    const agent = await startAgent();
    const ini = join(dir, 'guest.ini');
    await writeFile(ini, '[client]\nbind_address = 127.0.0.1\n');
    const child = spawn(process.execPath, [BIN, '--config', ini, '--channel-dir', dir, '--agent-url', agent.url, '--port', '0', '--hostname', 'compute-7', '--state-dir', state], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    onTestFinished(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'server-ready'), 10_000, 'server-ready');
    await until(() => out.includes('guest-server ready'), 5_000, 'ready log');
    expect(out).toContain('journal damage: records skipped');
    expect(out).toContain('persisted instance record does not validate: skipped');
    // The host record survived: host reporting is still disabled after the restart.
    expect(out).toMatch(/"hostReporting":false/);
    // The state directory's figures are on /metrics.
    const url = /"url":"(http:\/\/[^"]+)"[^\n]*guest-server ready/.exec(out)?.[1]?.replace('compute-7', '127.0.0.1');
    const metrics = await (await fetch(`${url ?? ''}/metrics`)).text();
    expect(metrics).toMatch(/^guest_server_state_journal_bytes [1-9]\d*$/m);
    expect(metrics).toMatch(/^guest_server_state_journal_compactions_total [1-9]/m);   // the damaged file was rewritten
    expect(metrics).toMatch(/^guest_server_state_journal_write_errors_total 0$/m);
    expect(metrics).toMatch(/^guest_server_outbox_oldest_age_seconds \d/m);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(0);
  });
});
