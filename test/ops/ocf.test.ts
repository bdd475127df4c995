/**
 * ocf/guestAgent against the real guest-agent (issue 7): Debian's ocf-tester, then the cases ocf-tester
 * does not reach: /healthz-based monitor, configuration errors, probes without an installation, reload.
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, REPO, run, tempDir, waitFor, type RunResult } from './helpers/ops.js';

const AGENT_BIN_JS = join(REPO, 'packages/guest-agent/dist/bin.js');
const RA_SCHEMA_DIR = '/usr/share/resource-agents';

interface Setup {
  readonly dir: string;
  readonly agent: string;
  readonly env: NodeJS.ProcessEnv;
  readonly params: Record<string, string>;
  readonly rxPort: number;
}

/** A temp dir with a copy of the RA, a wrapper that runs the built guest-agent, and a shared guest.ini. */
async function setup(agentSection?: string): Promise<Setup> {
  expect(existsSync(AGENT_BIN_JS), `${AGENT_BIN_JS} (run npm run build)`).toBe(true);
  const dir = await tempDir('ops-ocf-');
  const agent = join(dir, 'guestAgent');
  await copyFile(join(REPO, 'ocf/guestAgent'), agent);
  await chmod(agent, 0o755);
  const binary = join(dir, 'guest-agent');
  await writeFile(binary, `#!/bin/sh\nexec "${process.execPath}" "${AGENT_BIN_JS}" "$@"\n`, { mode: 0o755 });
  const [rxPort, vimPort, eventPort] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'guest.ini');
  // The shared file layout: [client] belongs to guest-server and must not bother the agent.
  await writeFile(
    config,
    `${agentSection ?? `[agent]\nrx_host = 127.0.0.1\nrx_port = ${rxPort}\nvim_cmd_port = ${vimPort}\nvim_event_url = http://127.0.0.1:${eventPort}\nhbs_failure_threshold = 1`}\n` +
      '[client]\nrx_port = 2411\nhbs_failure_threshold = 1\nhbs_pulse_period = 400\nchannel_dir = /nonexistent\n' +
      '[timeouts]\nstart_delay = 1\n[debug]\ndebug_all = 0\n',
  );
  const params = {
    binary, config, pid: join(dir, 'run/guest-agent.pid'), logfile: join(dir, 'log/guest-agent.log'), user: currentUser(),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, OCF_ROOT: '/usr/lib/ocf', OCF_RESOURCE_INSTANCE: 'guestAgent' };
  for (const [key, value] of Object.entries(params)) env[`OCF_RESKEY_${key}`] = value;
  const s: Setup = { dir, agent, env, params, rxPort };
  // Whatever a test leaves running is stopped through the agent, then by pid as a last resort.
  onTestFinished(async () => {
    await ra(s, 'stop');
    const pid = pidOf(s);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  });
  return s;
}

function currentUser(): string {
  return userInfo().username;
}

function pidOf(s: Setup): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(s.params['pid'] ?? '', 'utf8'), 10);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function ra(s: Setup, action: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<number> {
  const result = await run(s.agent, [action], { env: { ...s.env, OCF_RESKEY_CRM_meta_timeout: '20000', OCF_RESKEY_CRM_meta_interval: '10000', ...extraEnv } });
  return result.code;
}

describe('OCF resource agent ocf/guestAgent with the real guest-agent', () => {
  it('passes ocf-tester (resource-agents)', { timeout: 60_000 }, async () => {
    const s = await setup();
    const args = ['-n', 'guestAgent', ...Object.entries(s.params).flatMap(([k, v]) => ['-o', `${k}=${v}`]), s.agent];
    const result = await run('ocf-tester', args, { env: { ...process.env, OCF_ROOT: '/usr/lib/ocf' } });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${s.agent} passed all tests`);
    expect(result.code).toBe(0);
    expect(pidOf(s)).toBeUndefined();
  });

  it('prints OCF 1.1 meta-data valid against the resource-agents RNG schema and the ra-api DTD', async () => {
    const s = await setup();
    const metadata = await run(s.agent, ['meta-data'], { env: s.env });
    expect(metadata.code).toBe(0);
    expect(metadata.stdout).toContain('<version>1.1</version>');
    for (const name of ['binary', 'config', 'pid', 'user', 'healthz_url']) expect(metadata.stdout).toContain(`<parameter name="${name}"`);
    const xml = join(s.dir, 'meta.xml');
    await writeFile(xml, metadata.stdout);
    // On stdin from the schema folder, as ocf-tester does, so that the DOCTYPE's ra-api-1.dtd resolves.
    const lint = (args: string): Promise<RunResult> => run('sh', ['-c', `xmllint --noout ${args} - < "$0"`, xml], { cwd: RA_SCHEMA_DIR });
    expect(await lint('--relaxng metadata.rng')).toMatchObject({ code: 0, stderr: '- validates\n' });
    expect(await lint('--valid')).toMatchObject({ code: 0, stderr: '' });
  });

  it('monitor asks /healthz: a stopped (SIGSTOP) daemon with a live pid fails with 1, and recovers', async () => {
    const s = await setup();
    expect(await ra(s, 'start')).toBe(0);
    const pid = pidOf(s);
    expect(pid).toBeDefined();
    expect(await ra(s, 'monitor')).toBe(0);
    process.kill(pid ?? 0, 'SIGSTOP');
    onTestFinished(() => {
      if (pidOf(s) !== undefined) process.kill(pid ?? 0, 'SIGCONT');
    });
    expect(await ra(s, 'monitor')).toBe(1);
    process.kill(pid ?? 0, 'SIGCONT');
    expect(await ra(s, 'monitor')).toBe(0);
    // reload = SIGHUP: the same process re-reads guest.ini.
    expect(await ra(s, 'reload')).toBe(0);
    const log = join(s.params['logfile'] ?? '');
    await waitFor(async () => (await readFile(log, 'utf8')).includes('reload complete'), 5_000, 'the reload in the log');
    expect(pidOf(s)).toBe(pid);
    expect(await ra(s, 'stop')).toBe(0);
    expect(pidOf(s)).toBeUndefined();
    expect(existsSync(s.params['pid'] ?? '')).toBe(false);
    expect(await ra(s, 'monitor')).toBe(7);
  });

  it('start maps the daemon\'s configuration error (exit 2) to OCF_ERR_CONFIGURED (6)', async () => {
    const s = await setup('[agent]\nrx_port = 2401\nno_such_key = 1');
    expect(await ra(s, 'validate-all')).toBe(0);
    expect(await ra(s, 'start')).toBe(6);
    expect(await readFile(s.params['logfile'] ?? '', 'utf8')).toContain('no_such_key');
    expect(pidOf(s)).toBeUndefined();
  });

  it('validate-all reports a missing binary (5) or config (6); a probe then still says "not running" (7)', async () => {
    const s = await setup();
    expect(await ra(s, 'validate-all', { OCF_RESKEY_binary: join(s.dir, 'missing') })).toBe(5);
    expect(await ra(s, 'validate-all', { OCF_RESKEY_config: join(s.dir, 'missing.ini') })).toBe(6);
    const probe = { OCF_RESKEY_CRM_meta_interval: '0', OCF_RESKEY_binary: join(s.dir, 'missing') };
    expect(await ra(s, 'monitor', probe)).toBe(7);
    expect(await ra(s, 'stop', { OCF_RESKEY_config: join(s.dir, 'missing.ini') })).toBe(0);
    expect(await ra(s, 'bogus')).toBe(3);
  });

  it('a stale pidfile naming an unrelated live process reads as stopped, and stop leaves that process alone', async () => {
    const s = await setup();
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    onTestFinished(() => {
      bystander.kill('SIGKILL');
    });
    await mkdir(join(s.dir, 'run'), { recursive: true });
    await writeFile(s.params['pid'] ?? '', `${bystander.pid}\n`);
    expect(await ra(s, 'monitor')).toBe(7);
    expect(await ra(s, 'stop')).toBe(0);
    expect(bystander.exitCode).toBeNull();
    expect(() => process.kill(bystander.pid ?? 0, 0)).not.toThrow();
    expect(existsSync(s.params['pid'] ?? '')).toBe(false);
  });
});
