/**
 * Issue 15: guest-client packaged for the VM. The unit passes `systemd-analyze verify`; the tarball from
 * `npm run pack:guest-client` holds what its install.sh installs, and its wrapper runs the client from the
 * unpacked tree: --version, and exit 6 ("not configured") without the virtio-serial port. (install.sh itself
 * writes to /usr/local and /etc of the VM, so it is not run here.)
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, run, tempDir } from './helpers/ops.js';
import { prepareSystemdRoot } from './helpers/systemd-root.js';

const UNIT = 'guest-client.service';

describe('guest-client for the VM', () => {
  it('its systemd unit passes systemd-analyze verify with no warning', async () => {
    const root = await tempDir('ops-gc-');
    await prepareSystemdRoot(root, ['usr/local/bin/guest-client']);
    await copyFile(join(REPO, 'systemd/guest', UNIT), join(root, 'usr/local/lib/systemd/system', UNIT));
    expect(await run('systemd-analyze', ['verify', `--root=${root}`, UNIT])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('npm run pack:guest-client gives a tarball whose wrapper runs the client', async () => {
    const out = await tempDir('ops-gcpack-');
    const pack = await run('bash', [join(REPO, 'scripts/pack-guest-client.sh'), '--out', out]);
    expect(pack.code, pack.stderr).toBe(0);
    const tarball = pack.stdout.trim().split('\n').at(-1) ?? '';
    expect(tarball).toMatch(/guest-client-\d+\.\d+\.\d+\.tar\.gz$/);
    const dir = join(out, 'x');
    await mkdir(dir);
    expect((await run('tar', ['-xzf', tarball, '-C', dir])).code).toBe(0);
    const top = join(dir, (await run('ls', [dir])).stdout.trim());
    const listing = (await run('ls', [top])).stdout.split('\n');
    expect(listing).toEqual(expect.arrayContaining(['bin', 'lib', 'install.sh', UNIT, 'guest_heartbeat.conf', 'README.md']));
    const wrapper = join(top, 'bin/guest-client');
    expect(await run(wrapper, ['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^guest-client \d+\.\d+\.\d+\n$/) });
    const noDevice = await run(wrapper, ['--config', join(top, 'guest_heartbeat.conf'), '--device', join(dir, 'no-such-port'), '--log-level', 'error']);
    expect(noDevice.code).toBe(6);
  }, 120_000);
});
