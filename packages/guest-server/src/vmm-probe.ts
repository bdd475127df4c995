/**
 * The /proc reads at the edge (issue 16 items 1-2): which process holds a channel's UNIX socket, which of its
 * threads are vCPUs, and a cheap sample of its state and vCPU schedstat. Parsing is vmm-locator.ts (pure).
 *
 * Cost: locating scans /proc/<pid>/fd of every process, asynchronously and in batches (all channels
 * waiting for a scan share one); a sample is 1 + one read per vCPU of small procfs files into one reused
 * buffer (open, read, close): the process's stat, then each vCPU thread's stat and schedstat; synchronous because each takes microseconds.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { isVcpuThreadName, parseSchedstat, processStateOf, socketInodeOfLink, socketInodesByPath, uuidOfChannel } from './vmm-locator.js';

/** What a sample of one VMM read: the process state and the sums over the given vCPU threads. */
export interface ProcSample {
  readonly state: string;
  readonly cpuNs: number;
  readonly waitNs: number;
  readonly slices: number;
  /** vCPU threads in state R (running or runnable) at the sample. */
  readonly runnable: number;
  /** A vCPU thread was not found (hot-unplug, or the process is going): the thread list needs a refresh. */
  readonly tidMissing: boolean;
}

/** The probe the corroborator uses; ProcProbe reads the real /proc, tests may give recorded answers. */
export interface VmmProbe {
  /** Maps each channel path to the pid of the process (not us) holding a socket bound to it. */
  locate(paths: readonly string[]): Promise<Map<string, number>>;
  /** The vCPU thread ids of a process, or undefined when it is gone. */
  vcpuThreads(pid: number): number[] | undefined;
  /** One sample; `state` is `gone` when the process no longer exists. */
  sample(pid: number, tids: readonly number[]): ProcSample;
}

export class ProcProbe implements VmmProbe {
  readonly #root: string;
  readonly #selfPid: number;
  /** One buffer for every sample read: stat and schedstat lines are far below 4 KiB. */
  readonly #buffer = Buffer.allocUnsafe(4096);

  constructor(options: { readonly procRoot?: string; readonly selfPid?: number } = {}) {
    this.#root = options.procRoot ?? '/proc';
    this.#selfPid = options.selfPid ?? process.pid;
  }

  async locate(paths: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (paths.length === 0) return found;
    const netUnix = await readFile(`${this.#root}/net/unix`, 'latin1').catch(() => '');
    const inodes = socketInodesByPath(netUnix, new Set(paths));
    const pathOfInode = new Map<number, string>();
    for (const [path, list] of inodes) for (const inode of list) pathOfInode.set(inode, path);
    const pids = (await readdir(this.#root).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
    if (pathOfInode.size > 0) await this.#scanFds(pids, pathOfInode, inodes.size, found);
    // Where the fd tables cannot be read (QEMU runs as another user and we lack CAP_SYS_PTRACE), or libvirt
    // passed the listening socket as an fd: the process whose command line has `-uuid <the channel's uuid>`.
    const byUuid = new Map<string, string>();
    for (const path of paths) {
      const uuid = uuidOfChannel(path);
      if (uuid !== undefined && !found.has(path)) byUuid.set(uuid, path);
    }
    if (byUuid.size > 0) await this.#scanCmdlines(pids, byUuid, found);
    return found;
  }

  async #scanFds(pids: readonly string[], pathOfInode: ReadonlyMap<number, string>, wanted: number, found: Map<string, number>): Promise<void> {
    for (const name of pids) {
      const pid = Number(name);
      if (pid === this.#selfPid) continue;
      const fds = await readdir(`${this.#root}/${name}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const target = await readlink(`${this.#root}/${name}/fd/${fd}`).catch(() => '');
        const inode = socketInodeOfLink(target);
        const path = inode === undefined ? undefined : pathOfInode.get(inode);
        if (path !== undefined && !found.has(path)) found.set(path, pid);
      }
      if (found.size === wanted) break;
    }
  }

  async #scanCmdlines(pids: readonly string[], byUuid: Map<string, string>, found: Map<string, number>): Promise<void> {
    for (const name of pids) {
      const pid = Number(name);
      if (pid === this.#selfPid) continue;
      const cmdline = await readFile(`${this.#root}/${name}/cmdline`, 'latin1').catch(() => '');
      const args = cmdline.split('\0');
      for (let i = 0; i + 1 < args.length; i++) {
        if (args[i] !== '-uuid') continue;
        const path = byUuid.get((args[i + 1] as string).toLowerCase());
        if (path !== undefined) {
          found.set(path, pid);
          byUuid.delete((args[i + 1] as string).toLowerCase());
        }
      }
      if (byUuid.size === 0) return;
    }
  }

  vcpuThreads(pid: number): number[] | undefined {
    const tids: number[] = [];
    let names: string[];
    try {
      names = readdirSync(`${this.#root}/${pid}/task`);
    } catch {
      return undefined;
    }
    for (const name of names) {
      const comm = this.#read(`${this.#root}/${pid}/task/${name}/comm`);
      if (comm !== undefined && isVcpuThreadName(comm)) tids.push(Number(name));
    }
    return tids;
  }

  sample(pid: number, tids: readonly number[]): ProcSample {
    const stat = this.#read(`${this.#root}/${pid}/stat`);
    const state = stat === undefined ? 'gone' : processStateOf(stat) ?? '?';
    let cpuNs = 0;
    let waitNs = 0;
    let slices = 0;
    let runnable = 0;
    let tidMissing = false;
    if (stat !== undefined) {
      for (const tid of tids) {
        const threadStat = this.#read(`${this.#root}/${pid}/task/${tid}/stat`);
        if (threadStat !== undefined && processStateOf(threadStat) === 'R') runnable++;
        const text = this.#read(`${this.#root}/${pid}/task/${tid}/schedstat`);
        const s = text === undefined ? undefined : parseSchedstat(text);
        if (s === undefined) {
          tidMissing = true;
          continue;
        }
        cpuNs += s.cpuNs;
        waitNs += s.waitNs;
        slices += s.slices;
      }
    }
    return { state, cpuNs, waitNs, slices, runnable, tidMissing };
  }

  /** A small procfs file into the shared buffer; undefined when it cannot be read (the process is gone). */
  #read(path: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const n = readSync(fd, this.#buffer, 0, this.#buffer.length, 0);
      return this.#buffer.toString('latin1', 0, n);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }
}
