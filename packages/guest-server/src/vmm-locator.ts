/**
 * Pure parsing of the /proc text that finds and samples a guest's QEMU process (issue 16 items 1-2). No
 * I/O here: vmm-probe.ts reads the files and hands the text (or bytes) over, so tests run on recorded samples.
 *
 * How a channel maps to its VMM without libvirt: QEMU listens on the channel's UNIX socket; the listening
 * socket and the one it accepted for us both carry the path in /proc/net/unix, with their inodes; the
 * process whose /proc/<pid>/fd holds `socket:[<inode>]` is the VMM. Our own client socket has no path.
 */

/** Inodes of the sockets bound to each wanted path (listening and accepted), from /proc/net/unix text. */
export function socketInodesByPath(procNetUnix: string, wanted: ReadonlySet<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let start = 0;
  while (start < procNetUnix.length) {
    let end = procNetUnix.indexOf('\n', start);
    if (end < 0) end = procNetUnix.length;
    const line = procNetUnix.slice(start, end);
    start = end + 1;
    // Num RefCount Protocol Flags Type St Inode Path — the path is the 8th field and may hold spaces.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const inode = Number(fields[6]);
    if (!Number.isSafeInteger(inode) || inode <= 0) continue;
    const at = nthFieldStart(line, 7);
    if (at < 0) continue;
    const path = line.slice(at).trimEnd();
    if (!wanted.has(path)) continue;
    const list = out.get(path);
    if (list === undefined) out.set(path, [inode]);
    else list.push(inode);
  }
  return out;
}

/** The instance uuid in a channel path (`…/cgcs.heartbeat.<uuid>.sock`, `…/wrs.heartbeat.agent.0.<uuid>.sock`), lower-case. */
export function uuidOfChannel(path: string): string | undefined {
  const m = /([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\.sock$/.exec(path);
  return m === null ? undefined : (m[1] as string).toLowerCase();
}

/** The inode of a `socket:[N]` fd link target, else undefined. */
export function socketInodeOfLink(target: string): number | undefined {
  if (!target.startsWith('socket:[') || !target.endsWith(']')) return undefined;
  const n = Number(target.slice(8, -1));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * True for QEMU's vCPU thread names: "CPU 0/KVM", "CPU 3/TCG", "ALL CPUs/TCG" (single-threaded TCG), other
 * accelerators likewise. QEMU names its threads only with `-name …,debug-threads=on` (libvirt always sets it).
 */
export function isVcpuThreadName(comm: string): boolean {
  return /^(CPU \d+|ALL CPUs)\/[A-Z]+$/.test(comm.trim());
}

/** The state letter (field 3) of /proc/<pid>/stat: after the last ')' since the command name may hold one. */
export function processStateOf(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const letter = stat.charAt(close + 2);
  return /^[A-Za-z]$/.test(letter) ? letter : undefined;
}

/** /proc/<pid>/task/<tid>/schedstat: time on a CPU (ns), time runnable but waiting (ns), times scheduled in. */
export interface ThreadSchedstat {
  readonly cpuNs: number;
  readonly waitNs: number;
  readonly slices: number;
}

/** Parses "cpu_ns wait_ns slices\n"; undefined when malformed. */
export function parseSchedstat(text: string): ThreadSchedstat | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 3) return undefined;
  const [cpuNs, waitNs, slices] = parts.slice(0, 3).map(Number) as [number, number, number];
  if (![cpuNs, waitNs, slices].every((n) => Number.isFinite(n) && n >= 0)) return undefined;
  return { cpuNs, waitNs, slices };
}

/** Is the process state one of a stopped process (SIGSTOP: T, ptrace stop: t)? */
export function isStoppedState(state: string): boolean {
  return state === 'T' || state === 't';
}

/** Is it a process that is exiting or gone (zombie, dead)? */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x' || state === 'gone';
}

function nthFieldStart(line: string, n: number): number {
  let i = 0;
  let field = -1;
  while (i < line.length) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= line.length) return -1;
    field++;
    if (field === n) return i;
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
  }
  return -1;
}
