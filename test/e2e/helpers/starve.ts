/**
 * Starves a process of host CPU, for guest-server's host-starved class (issue 16 item 7): a CPU quota of
 * 1 ms per second (0.1 %; 1 % still lets a TCG guest answer a 1 s heartbeat) in a cgroup of its own (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), or where no
 * cgroup can be written, SCHED_IDLE on all its threads pinned to CPU 0 next to a busy loop pinned there too.
 * Needs root. `release()` undoes it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface Starvation {
  /** How: `cgroup-v2`, `cgroup-v1` or `sched-idle`. */
  readonly method: string;
  release(): void;
}

let serial = 0;

/** E2E_STARVE_METHOD=sched-idle forces the fallback (to try it where a cgroup could be written). */
export function starve(pid: number): Starvation {
  if (process.env['E2E_STARVE_METHOD'] === 'sched-idle') return schedIdle(pid);
  return tryCgroupV2(pid) ?? tryCgroupV1(pid) ?? schedIdle(pid);
}

function tryCgroupV2(pid: number): Starvation | undefined {
  const root = '/sys/fs/cgroup';
  if (!existsSync(join(root, 'cgroup.controllers')) || !readFileSync(join(root, 'cgroup.controllers'), 'utf8').includes('cpu')) return undefined;
  const original = cgroupPathOf(pid, (line) => line.startsWith('0::'));
  const dir = join(root, `gs-e2e-starve-${process.pid}-${++serial}`);
  try {
    writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), '1000 1000000');
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch {
    if (existsSync(dir)) rmdirSync(dir);
    return undefined;
  }
  return {
    method: 'cgroup-v2',
    release: () => {
      writeFileSync(join(root, original ?? '', 'cgroup.procs'), String(pid));
      rmdirSync(dir);
    },
  };
}

function tryCgroupV1(pid: number): Starvation | undefined {
  const root = '/sys/fs/cgroup/cpu';
  if (!existsSync(join(root, 'cpu.cfs_quota_us'))) return undefined;
  const original = cgroupPathOf(pid, (line) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(line));
  const dir = join(root, `gs-e2e-starve-${process.pid}-${++serial}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_period_us'), '1000000');
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), '1000');
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch {
    if (existsSync(dir)) rmdirSync(dir);
    return undefined;
  }
  return {
    method: 'cgroup-v1',
    release: () => {
      writeFileSync(join(root, original ?? '', 'cgroup.procs'), String(pid));
      rmdirSync(dir);
    },
  };
}

function schedIdle(pid: number): Starvation {
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
  execFileSync('chrt', ['-a', '--idle', '-p', '0', String(pid)], { stdio: 'ignore' });
  // SCHED_IDLE has weight 3 against a nice-0 task's 1024: 0.3 % of the CPU still lets a TCG guest answer a
  // 1 s heartbeat. Against a nice -10 busy loop (weight 9548) it gets 0.03 %.
  const hog = spawn('nice', ['-n', '-10', 'taskset', '-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  return {
    method: 'sched-idle',
    release: () => {
      hog.kill('SIGKILL');
      execFileSync('chrt', ['-a', '--other', '-p', '0', String(pid)], { stdio: 'ignore' });
      execFileSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(pid)], { stdio: 'ignore' });
    },
  };
}

/** The process's cgroup path (relative to the hierarchy's root) from /proc/<pid>/cgroup. */
function cgroupPathOf(pid: number, pick: (line: string) => boolean): string | undefined {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find(pick);
  return line === undefined ? undefined : line.slice(line.lastIndexOf(':') + 1);
}
