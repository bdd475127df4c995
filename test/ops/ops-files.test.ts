/**
 * The operations files on their own (issue 7): systemd units checked by `systemd-analyze verify` and
 * `systemd-analyze security`, and the pmon config, the LSB script and the units agreeing on paths.
 */
import { spawn } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { iniSection, readRepoFile, REPO, run, tempDir, valueOf } from './helpers/ops.js';
import { prepareSystemdRoot } from './helpers/systemd-root.js';

const UNITS = ['guestServer.service', 'guestAgent.service'] as const;
const BINS = ['/usr/local/bin/guest-server', '/usr/local/bin/guest-agent'];
const UNIT_DIR = 'usr/local/lib/systemd/system';

async function unitRoot(): Promise<string> {
  const root = await tempDir('ops-sd-');
  await prepareSystemdRoot(root, BINS);
  for (const unit of UNITS) await copyFile(join(REPO, 'systemd', unit), join(root, UNIT_DIR, unit));
  return root;
}

describe('systemd units', () => {
  it('pass systemd-analyze verify with no warning at all', async () => {
    const root = await unitRoot();
    const result = await run('systemd-analyze', ['verify', `--root=${root}`, ...UNITS]);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('verify would catch a broken unit (the check is not vacuous)', async () => {
    const root = await unitRoot();
    const broken = (await readRepoFile('systemd/guestAgent.service')).replace('ProtectHome=yes', 'ProtectHome=maybe\nNoSuchKey=1');
    await writeFile(join(root, UNIT_DIR, 'guestAgent.service'), broken);
    const result = await run('systemd-analyze', ['verify', `--root=${root}`, 'guestAgent.service']);
    expect(result.stderr).toContain('Failed to parse protect home value');
    expect(result.stderr).toContain("Unknown key 'NoSuchKey'");
  });

  it('are sandboxed: systemd-analyze security rates both at most 2.5 (lower is better, 10 = no sandbox)', async () => {
    const root = await unitRoot();
    for (const unit of UNITS) {
      const result = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--threshold=25', '--no-pager', unit]);
      const exposure = /Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1];
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(Number(exposure)).toBeLessThanOrEqual(2.5);
    }
  });

  it('start the installed bins with the shared guest.ini, reload with SIGHUP and leave recovery to pmon/SM', async () => {
    for (const [unit, bin, runtime] of [
      ['guestServer.service', 'guest-server', 'guest-server'],
      ['guestAgent.service', 'guest-agent', 'guest-agent'],
    ] as const) {
      const service = iniSection(await readRepoFile(`systemd/${unit}`), 'Service');
      expect(valueOf(service, 'ExecStart')).toBe(
        `/usr/local/bin/${bin} --config /etc/mtc/guest.ini --pidfile /run/${runtime}/${bin}.pid`,
      );
      expect(valueOf(service, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
      expect(valueOf(service, 'Restart')).toBe('no');
      expect(valueOf(service, 'RuntimeDirectory')).toBe(runtime);
      for (const [key, value] of [
        ['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'],
        ['PrivateDevices', 'yes'], ['ProtectKernelTunables', 'yes'], ['RestrictSUIDSGID', 'yes'],
      ] as const) {
        expect(valueOf(service, key), `${unit} ${key}`).toBe(value);
      }
    }
    const server = iniSection(await readRepoFile('systemd/guestServer.service'), 'Service');
    expect(valueOf(server, 'ReadWritePaths')).toBe('-/var/lib/libvirt/qemu');
    expect(valueOf(server, 'CapabilityBoundingSet')).toBe('CAP_DAC_OVERRIDE');
    // Heartbeat timing before ordinary work (README "Scheduling priority"); the benches read the same key.
    expect(valueOf(server, 'Nice')).toBe('-10');
    expect(await readRepoFile('scripts/init.d/guestServer')).toMatch(/NICE=\$\{NICE:--10\}[\s\S]*setsid nice -n "\$NICE"/);
    const agent = iniSection(await readRepoFile('systemd/guestAgent.service'), 'Service');
    expect(valueOf(agent, 'ReadWritePaths')).toBeUndefined();
    expect(valueOf(agent, 'CapabilityBoundingSet')).toBe('');
  });
});

describe('pmon config and LSB script', () => {
  it('has every key of the original guestServer.conf (daemons §7.8), with the real pidfile and script', async () => {
    const pmon = new Map(iniSection(await readRepoFile('pmon.d/guestServer.pmon'), 'process'));
    expect(Object.fromEntries(pmon)).toEqual({
      process: 'guestServer', service: 'guestServer', pidfile: '/run/guest-server/guest-server.pid',
      script: '/etc/init.d/guestServer', style: 'lsb', severity: 'major', restarts: '3', interval: '3',
      debounce: '10', startuptime: '1', mode: 'passive', subfunction: 'worker',
    });
    // The pidfile pmond watches is the one the unit and the LSB script make the daemon write.
    const unit = iniSection(await readRepoFile('systemd/guestServer.service'), 'Service');
    expect(valueOf(unit, 'ExecStart')).toContain(`--pidfile ${pmon.get('pidfile')}`);
    const script = await readRepoFile('scripts/init.d/guestServer');
    expect(script).toContain(`PIDFILE=\${GUEST_SERVER_PIDFILE:-${pmon.get('pidfile')}}`);
    expect(script).toContain(`UNIT=${pmon.get('service')}.service`);
  });

  it('the LSB script answers usage errors with 2 and status of a stopped daemon with 3', async () => {
    const dir = await tempDir('ops-lsb-');
    const env = { ...process.env, GUEST_SERVER_SYSTEMD: 'no', GUEST_SERVER_PIDFILE: join(dir, 'gs.pid') };
    const script = join(REPO, 'scripts/init.d/guestServer');
    expect((await run(script, ['bogus'], { env })).code).toBe(2);
    expect(await run(script, ['status'], { env })).toMatchObject({ code: 3, stdout: 'guestServer: is not running\n' });
    expect((await run(script, ['stop'], { env })).code).toBe(0);
    const missing = await run(script, ['start'], { env: { ...env, GUEST_SERVER_BIN: join(dir, 'nope') } });
    expect(missing.code).toBe(5);
    // A stale pidfile whose pid now belongs to an unrelated process: "dead", and stop leaves it alone.
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    onTestFinished(() => {
      bystander.kill('SIGKILL');
    });
    await writeFile(join(dir, 'gs.pid'), `${bystander.pid}\n`);
    expect((await run(script, ['status'], { env })).code).toBe(1);
    expect((await run(script, ['stop'], { env })).code).toBe(0);
    expect(bystander.exitCode).toBeNull();
    expect(() => process.kill(bystander.pid ?? 0, 0)).not.toThrow();
  });
});

describe('docs/operations.md', () => {
  it('documents every OCF parameter and every installed path', async () => {
    const docs = await readRepoFile('docs/operations.md');
    const metadata = await run(join(REPO, 'ocf/guestAgent'), ['meta-data']);
    const params = [...metadata.stdout.matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1]);
    expect(params.length).toBeGreaterThan(5);
    for (const name of params) expect(docs, `OCF parameter ${name}`).toContain(`\`${name}\``);
    const install = await readRepoFile('scripts/install.sh');
    const installed = [...install.matchAll(/"\$r(\/[^"$]+)"/g)].map((m) => m[1] ?? '').filter((p) => p.includes('/'));
    expect(installed).toContain('/etc/init.d/guestServer');
    for (const path of installed) expect(docs, `installed path ${path}`).toContain(path);
  });
});
