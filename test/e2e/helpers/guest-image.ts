/**
 * The e2e guest: Debian's cloud kernel (fetched by .ci/setup.d/20-e2e-guest-kernel.sh, never installed) and
 * an initramfs built here from busybox-static, the kernel's virtio modules and guest-init.sh. The archive is
 * written in the cpio "newc" format by this file, so the host needs no cpio binary (qemu-e2e.md §3).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');

/** Where the setup script unpacks the kernel; E2E_KERNEL_DIR overrides it. */
export const KERNEL_DIR = process.env['E2E_KERNEL_DIR'] ?? join(REPO, '.cache/e2e/kernel');
const BUSYBOX = process.env['E2E_BUSYBOX'] ?? '/bin/busybox';
/** The PCI transport and the console driver; their dependencies are read from the modules themselves. */
const ROOT_MODULES = ['virtio_pci', 'virtio_console'];

export interface GuestImage {
  readonly kernelPath: string;
  readonly initrdPath: string;
  readonly kernelVersion: string;
  /** Module load order inside the guest. */
  readonly modules: readonly string[];
}

/** Why the guest cannot be built, with the command that fixes it. The test fails with it (never skips). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(join(KERNEL_DIR, 'vmlinuz'))) {
    missing.push(`guest kernel not found in ${KERNEL_DIR}: run bash .ci/setup.d/20-e2e-guest-kernel.sh`);
  }
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} not found: apt-get install busybox-static`);
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
  } catch {
    missing.push('qemu-system-x86_64 not found: apt-get install --no-install-recommends qemu-system-x86');
  }
  return missing;
}

/** Builds the initramfs into `outDir` and returns the paths QEMU needs. */
export async function buildGuestImage(outDir: string): Promise<GuestImage> {
  const kernelVersion = readdirSync(join(KERNEL_DIR, 'lib/modules'))[0];
  if (kernelVersion === undefined) throw new Error(`no lib/modules in ${KERNEL_DIR}`);
  const modulesRoot = join(KERNEL_DIR, 'lib/modules', kernelVersion, 'kernel');
  const index = indexModules(modulesRoot);
  const order = loadOrder(ROOT_MODULES, index);

  const archive = new NewcArchive();
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'tmp', 'lib', 'lib/modules']) archive.directory(dir);
  archive.charDevice('dev/console', 5, 1);
  archive.file('bin/busybox', readFileSync(BUSYBOX), 0o755);
  archive.symlink('bin/sh', 'busybox'); // for the #!/bin/sh of /init; /init installs the other applets
  archive.file('init', readFileSync(join(HERE, 'guest-init.sh')), 0o755);
  for (const name of order) archive.file(`lib/modules/${name}.ko`, readModule(index.get(name) ?? ''), 0o644);
  archive.file('lib/modules/order', Buffer.from(`${order.join('\n')}\n`), 0o644);

  const initrdPath = join(outDir, 'initramfs.cpio.gz');
  await writeFile(initrdPath, gzipSync(archive.finish(), { level: 6 }));
  return { kernelPath: join(KERNEL_DIR, 'vmlinuz'), initrdPath, kernelVersion, modules: order };
}

/** Module name (underscores) → file, over the whole modules tree. */
function indexModules(root: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ko(\.xz|\.zst)?$/.test(entry)) index.set(entry.replace(/\.ko(\.xz|\.zst)?$/, '').replaceAll('-', '_'), path);
    }
  };
  walk(root);
  return index;
}

/** Dependencies first (depth-first post-order), each module once. */
function loadOrder(roots: readonly string[], index: ReadonlyMap<string, string>): string[] {
  const order: string[] = [];
  const visit = (name: string, trail: readonly string[]): void => {
    if (order.includes(name) || trail.includes(name)) return;
    const path = index.get(name);
    if (path === undefined) return; // built into the kernel
    for (const dep of moduleDepends(readModule(path))) visit(dep, [...trail, name]);
    order.push(name);
  };
  for (const root of roots) visit(root, []);
  for (const root of roots) {
    if (!order.includes(root) && index.has(root)) throw new Error(`module ${root} could not be ordered`);
  }
  return order;
}

/** The `depends=` entry of a module's .modinfo section (the .deb ships no modules.dep). */
function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at);
  return ko.subarray(at + 'depends='.length, end).toString('latin1').split(',').filter((d) => d.length > 0);
}

function readModule(path: string): Buffer {
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc', path]);
  if (path.endsWith('.zst')) return execFileSync('zstd', ['-dc', path]);
  return readFileSync(path);
}

/** A minimal writer of the cpio "newc" format the kernel unpacks as initramfs. */
class NewcArchive {
  readonly #parts: Buffer[] = [];
  #ino = 1;

  directory(name: string): void {
    this.#entry(name, 0o040755, Buffer.alloc(0), 0, 0);
  }

  file(name: string, data: Buffer, perm: number): void {
    this.#entry(name, 0o100000 | perm, data, 0, 0);
  }

  symlink(name: string, target: string): void {
    this.#entry(name, 0o120777, Buffer.from(target), 0, 0);
  }

  charDevice(name: string, major: number, minor: number): void {
    this.#entry(name, 0o020600, Buffer.alloc(0), major, minor);
  }

  finish(): Buffer {
    this.#entry('TRAILER!!!', 0, Buffer.alloc(0), 0, 0);
    return Buffer.concat(this.#parts);
  }

  #entry(name: string, mode: number, data: Buffer, rdevMajor: number, rdevMinor: number): void {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [
      this.#ino++, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0,
    ];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'latin1');
    this.#parts.push(header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length));
  }
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
