/**
 * The install form (issue 7): `npm run pack` builds the tarball, install.sh lays it out in a temp root,
 * and both daemons run from there with the shipped /etc/mtc/guest.ini (one file, [agent] + [client]):
 * guest-agent from its wrapper, guest-server through the LSB script that pmond calls, and guest-agent
 * again through the installed OCF agent as an unprivileged user.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, httpStatus, REPO, run, tempDir, waitFor } from './helpers/ops.js';
import { prepareSystemdRoot } from './helpers/systemd-root.js';

const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** Files every install must have (docs/operations.md, "Layout"), with their mode; 0o444: at least world-readable. */
const LAYOUT: ReadonlyArray<readonly [string, number]> = [
  ['usr/local/bin/guest-server', 0o755],
  ['usr/local/bin/guest-agent', 0o755],
  // The build decides whether bin.js is executable; the wrappers only need it readable.
  ['usr/local/lib/guesthb/node_modules/@guesthb/guest-server/dist/bin.js', 0o444],
  ['usr/local/lib/guesthb/node_modules/@guesthb/guest-agent/dist/bin.js', 0o444],
  ['usr/local/lib/guesthb/NODE', 0o644],
  ['etc/mtc/guest.ini', 0o644],
  // The shared peer token, created at random by install.sh (issue 11 item 2): root only.
  ['etc/mtc/guest.token', 0o600],
  ['usr/local/lib/systemd/system/guestServer.service', 0o644],
  ['usr/local/lib/systemd/system/guestAgent.service', 0o644],
  ['etc/init.d/guestServer', 0o755],
  ['etc/pmon.d/guestServer.conf', 0o644],
  ['usr/lib/ocf/resource.d/platform/guestAgent', 0o755],
  ['etc/logrotate.d/guesthb', 0o644],
  ['usr/local/share/doc/guesthb/operations.md', 0o644],
  // awd@.service's Documentation=, and the example configurations of awd's three use cases (issue 13).
  ['usr/local/share/doc/guesthb/awd.md', 0o644],
  ['usr/local/share/doc/guesthb/awd-examples/guest-liveness.conf', 0o644],
  ['usr/local/share/doc/guesthb/awd-examples/colo-primary.conf', 0o644],
  ['usr/local/share/doc/guesthb/awd-examples/colo-secondary.script', 0o644],
  ['usr/local/share/doc/guesthb/awd-examples/remote-service.conf', 0o644],
];

/** The pidfile's pid when that process is alive. */
function livePid(pidfile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidfile, 'utf8'), 10);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

describe('npm run pack → install.sh → both daemons', () => {
  // Packing copies a few thousand files and starts three daemons: allow for a busy 2-core CI machine.
  it('packs a self-contained tarball that installs into a temp root and runs guest-agent and guest-server', { timeout: 100_000 }, async () => {
    const dir = await tempDir('ops-pack-');
    const pack = await run('npm', ['run', '--silent', 'pack', '--', '--out', join(dir, 'out')], { cwd: REPO, timeout: 90_000 });
    expect(pack.code, pack.stderr).toBe(0);
    const tarball = join(dir, 'out', `guesthb-${VERSION}.tar.gz`);
    expect(pack.stdout.trim().split('\n').at(-1)).toBe(tarball);

    const listing = (await run('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(listing).toContain(`guesthb-${VERSION}/install.sh`);
    expect(listing).toContain(`guesthb-${VERSION}/lib/guesthb/node_modules/fastify/package.json`);
    // Runtime only: no dev dependencies, no TypeScript sources, types or maps.
    expect(listing.filter((p) => /node_modules\/(vitest|typescript|eslint|fast-check)\//.test(p))).toEqual([]);
    expect(listing.filter((p) => /\.(ts|map)$/.test(p))).toEqual([]);

    expect((await run('tar', ['-xzf', tarball, '-C', dir])).code).toBe(0);
    const unpacked = join(dir, `guesthb-${VERSION}`);
    // Workspace packages are real copies, not links back into the repository.
    expect(lstatSync(join(unpacked, 'lib/guesthb/node_modules/@guesthb/guest-server')).isDirectory()).toBe(true);
    const root = join(dir, 'root');
    const install = await run(join(unpacked, 'install.sh'), ['--root', root, '--node', process.execPath]);
    expect(install, install.stderr).toMatchObject({ code: 0 });
    for (const [path, mode] of LAYOUT) {
      expect(existsSync(join(root, path)), path).toBe(true);
      const actual = statSync(join(root, path)).mode & 0o777;
      if (mode === 0o444) expect(actual & 0o446, path).toBe(0o444);
      else expect(actual, path).toBe(mode);
    }
    expect(readFileSync(join(root, 'usr/local/lib/guesthb/NODE'), 'utf8').trim()).toBe(process.execPath);
    // Every Documentation=file: of an installed unit is installed too (issue 13: awd@.service named a missing awd.md).
    for (const unit of readdirSync(join(root, 'usr/local/lib/systemd/system'))) {
      for (const m of readFileSync(join(root, 'usr/local/lib/systemd/system', unit), 'utf8').matchAll(/^Documentation=file:(\S+)$/gm)) {
        expect(existsSync(join(root, m[1] ?? '')), `${unit}: ${m[1]}`).toBe(true);
      }
    }

    // The installed units verify against the installed bins (no placeholders this time).
    await prepareSystemdRoot(root);
    const verify = await run('systemd-analyze', ['verify', `--root=${root}`, 'guestServer.service', 'guestAgent.service']);
    expect(verify).toEqual({ code: 0, stdout: '', stderr: '' });

    // Both daemons read the same shipped guest.ini; only ports and paths come from the command line.
    const ini = join(root, 'etc/mtc/guest.ini');
    const run_ = join(dir, 'run');
    const channels = join(dir, 'chan');
    await mkdir(run_);
    await mkdir(channels);
    const [agentPort, vimPort, eventPort, serverPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

    const agentPidfile = join(run_, 'guest-agent.pid');
    const agent = spawn(
      join(root, 'usr/local/bin/guest-agent'),
      ['--config', ini, '--port', String(agentPort), '--vim-cmd-port', String(vimPort),
        '--vim-event-url', `http://127.0.0.1:${eventPort}`, '--pidfile', agentPidfile],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let agentStderr = '';
    agent.stderr.setEncoding('utf8').on('data', (chunk: string) => (agentStderr += chunk));
    const agentExit = once(agent, 'exit');
    onTestFinished(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    });
    await waitFor(async () => agent.exitCode !== null || (await httpStatus(`http://127.0.0.1:${agentPort}/healthz`)) === 200, 15_000, 'guest-agent /healthz');
    expect(agent.exitCode, agentStderr).toBeNull();
    expect(livePid(agentPidfile)).toBe(agent.pid);

    const lsb = join(root, 'etc/init.d/guestServer');
    const serverPidfile = join(run_, 'guest-server.pid');
    const serverLog = join(dir, 'guest-server.log');
    const env = {
      ...process.env,
      GUEST_SERVER_SYSTEMD: 'no',
      GUEST_SERVER_BIN: join(root, 'usr/local/bin/guest-server'),
      GUEST_SERVER_CONFIG: ini,
      GUEST_SERVER_PIDFILE: serverPidfile,
      GUEST_SERVER_LOGFILE: serverLog,
      GUEST_SERVER_OPTS: `--port ${serverPort} --channel-dir ${channels} --agent-url http://127.0.0.1:${agentPort} --hostname ops-test --state-dir ${join(dir, 'state')}`,
    };
    onTestFinished(() => {
      const pid = livePid(serverPidfile);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    });
    const started = await run(lsb, ['start'], { env });
    expect(started.code, `${started.stdout}${existsSync(serverLog) ? readFileSync(serverLog, 'utf8') : ''}`).toBe(0);
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${serverPort}/healthz`)) === 200, 15_000, 'guest-server /healthz');
    const serverPid = livePid(serverPidfile);
    expect(serverPid).toBeDefined();
    // The installed wrapper runs Node with the V8 flags of guest-server's #! line (bench/README.md "Performance").
    expect(readFileSync(`/proc/${String(serverPid)}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--max-semi-space-size=16', '--no-allocation-site-pretenuring']));
    expect(await run(lsb, ['status'], { env })).toMatchObject({ code: 0, stdout: 'guestServer: is running\n' });
    expect((await run(lsb, ['start'], { env })).stdout).toBe('guestServer: is already running\n');
    expect((await run(lsb, ['reload'], { env })).code).toBe(0);
    await waitFor(() => readFileSync(serverLog, 'utf8').includes('reload'), 5_000, 'guest-server to log the reload');
    expect(livePid(serverPidfile)).toBe(serverPid);

    expect((await run(lsb, ['stop'], { env })).code).toBe(0);
    expect(livePid(serverPidfile)).toBeUndefined();
    expect((await run(lsb, ['status'], { env })).code).toBe(3);

    agent.kill('SIGTERM');
    const [code] = (await agentExit) as [number | null];
    expect(code).toBe(0);
    expect(existsSync(agentPidfile)).toBe(false);

    // The installed OCF agent runs the installed guest-agent; as root it drops to `user` (here nobody).
    const asRoot = process.getuid?.() === 0;
    const [ocfRx, ocfVim] = [await freePort(), await freePort()];
    const ocfIni = join(dir, 'agent.ini');
    await writeFile(ocfIni, `[agent]\nrx_host = 127.0.0.1\nrx_port = ${ocfRx}\nvim_cmd_port = ${ocfVim}\nvim_event_url = http://127.0.0.1:${eventPort}\n`);
    const ocfPidfile = join(run_, 'ocf', 'guest-agent.pid');
    const ocfEnv = {
      ...process.env,
      OCF_ROOT: '/usr/lib/ocf',
      OCF_RESOURCE_INSTANCE: 'guestAgent',
      OCF_RESKEY_binary: 'guest-agent',
      OCF_RESKEY_config: ocfIni,
      OCF_RESKEY_pid: ocfPidfile,
      OCF_RESKEY_logfile: join(dir, 'ocf-log', 'guest-agent.log'),
      OCF_RESKEY_user: asRoot ? 'nobody' : userInfo().username,
      // A bare binary name is looked up in PATH, as the original's default "guestAgent" was.
      PATH: `${join(root, 'usr/local/bin')}:${process.env['PATH'] ?? ''}`,
    };
    const ra = join(root, 'usr/lib/ocf/resource.d/platform/guestAgent');
    onTestFinished(async () => {
      await run(ra, ['stop'], { env: ocfEnv });
    });
    const ocfStart = await run(ra, ['start'], { env: ocfEnv });
    expect(ocfStart.code, ocfStart.stderr).toBe(0);
    const ocfPid = livePid(ocfPidfile);
    expect(ocfPid).toBeDefined();
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${ocfPid}/status`, 'utf8'))?.[1];
    expect(uid).toBe(String(asRoot ? (await run('id', ['-u', 'nobody'])).stdout.trim() : process.getuid?.()));
    expect(await httpStatus(`http://127.0.0.1:${ocfRx}/healthz`)).toBe(200);
    expect((await run(ra, ['monitor'], { env: ocfEnv })).code).toBe(0);
    expect((await run(ra, ['stop'], { env: ocfEnv })).code).toBe(0);
    expect(livePid(ocfPidfile)).toBeUndefined();
    expect((await run(ra, ['monitor'], { env: ocfEnv })).code).toBe(7);
  });
});
