/** systemd/awd@.service: valid for `systemd-analyze verify`, sandboxed, one config file per instance. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const UNIT = new URL('../../../systemd/awd@.service', import.meta.url);
const run = promisify(execFile);

/** A throw-away root: the host's unit library, merged-/usr links, a placeholder awd and the unit. */
async function unitRoot(): Promise<string> {
  const root = await tempDir();
  const hostUnits = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(join(d, 'sysinit.target')));
  if (hostUnits === undefined) throw new Error('no systemd unit library on this host (install the systemd package)');
  for (const dir of ['usr/bin', 'usr/sbin', 'usr/lib/systemd', 'usr/local/bin', 'usr/local/lib/systemd/system', 'etc/awd']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  for (const link of ['bin', 'lib', 'sbin']) await symlink(`usr/${link}`, join(root, link));
  await cp(hostUnits, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  await writeFile(join(root, 'usr/local/bin/awd'), '#!/bin/sh\n');
  await chmod(join(root, 'usr/local/bin/awd'), 0o755);
  await writeFile(join(root, 'etc/awd/colo-primary.conf'), '');
  // ExecReload runs /bin/kill, which systemd-analyze checks inside the root too.
  const kill = ['/usr/bin/kill', '/bin/kill'].find((path) => existsSync(path));
  if (kill === undefined) throw new Error('no /bin/kill on this host (procps)');
  await copyFile(kill, join(root, 'usr/bin/kill'));
  await copyFile(UNIT, join(root, 'usr/local/lib/systemd/system/awd@.service'));
  return root;
}

describe('awd@.service', () => {
  it('passes systemd-analyze verify with no warning', async () => {
    const root = await unitRoot();
    const r = await run('systemd-analyze', ['verify', `--root=${root}`, 'awd@colo-primary.service']);
    expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: '', stderr: '' });
  });

  it('is sandboxed: systemd-analyze security rates it at most 2.5', async () => {
    const root = await unitRoot();
    const r = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--no-pager', 'awd@colo-primary.service']);
    const exposure = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1];
    expect(Number(exposure)).toBeLessThanOrEqual(2.5);
  });

  it('runs one config file per instance, notifies systemd, restarts on failure', () => {
    const text = readFileSync(UNIT, 'utf8');
    expect(text).toContain('ExecStart=/usr/local/bin/awd --config /etc/awd/%i.conf --event-log /var/log/awd/%i.jsonl');
    expect(text).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(text).toMatch(/^Type=notify$/m);
    expect(text).toMatch(/^NotifyAccess=all$/m);
    expect(text).toMatch(/^WatchdogSec=/m);
    expect(text).toMatch(/^Restart=on-failure$/m);
  });
});
