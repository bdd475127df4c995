/**
 * A throw-away root for `systemd-analyze verify --root`: the host's unit library (targets, slices) and
 * /bin/kill copied in, merged-/usr symlinks, and the units under test in /usr/local/lib/systemd/system.
 * verify resolves every ExecStart/ExecReload path inside that root, so the daemon paths must exist there:
 * either placeholders (ops-files test) or the real installed wrappers (pack test).
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const HOST_UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system'];

/** Lays out the systemd part of `root`; `placeholders` are bin paths to create as empty executables. */
export async function prepareSystemdRoot(root: string, placeholders: readonly string[] = []): Promise<void> {
  const hostUnits = HOST_UNIT_DIRS.find((dir) => existsSync(join(dir, 'sysinit.target')));
  if (hostUnits === undefined) throw new Error('no systemd unit library on this host (install the systemd package)');
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
  await mkdir(join(root, 'usr/local/lib/systemd/system'), { recursive: true });
  for (const link of ['bin', 'lib', 'sbin']) {
    if (!existsSync(join(root, link))) await symlink(`usr/${link}`, join(root, link));
  }
  await mkdir(join(root, 'usr/sbin'), { recursive: true });
  await cp(hostUnits, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  const kill = ['/usr/bin/kill', '/bin/kill'].find((path) => existsSync(path));
  if (kill === undefined) throw new Error('no /bin/kill on this host (procps)');
  await copyFile(kill, join(root, 'usr/bin/kill'));
  for (const path of placeholders) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), '#!/bin/sh\n');
    await chmod(join(root, path), 0o755);
  }
}
