// Shared helpers of the benchmarks: processes (pinned with taskset when it exists), /proc figures,
// percentiles, free ports, bounded waits.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = join(REPO, 'packages/guest-server/dist/bin.js');
/**
 * The Node flags guest-server ships with: those of its #! line (packages/guest-server/src/bin.ts), which the
 * installed wrapper also uses: --max-semi-space-size=16 --no-allocation-site-pretenuring (why: the
 * guest-server README "Memory", bench/README.md "Issue 17").
 */
/**
 * The server's scheduling priority as shipped (systemd/guestServer.service `Nice=`), applied by the benches
 * that measure timing when this process may raise priority (root or CAP_SYS_NICE); 0 otherwise, and the
 * bench prints which one it used. BENCH_SERVER_NICE overrides it (e.g. 0 to measure without).
 */
export const SHIPPED_NICE = (() => {
  if (process.env.BENCH_SERVER_NICE !== undefined) return Number(process.env.BENCH_SERVER_NICE);
  const unit = readFileSync(new URL('../../systemd/guestServer.service', import.meta.url), 'utf8');
  const nice = Number(/^Nice=(-?\d+)\s*$/m.exec(unit)?.[1] ?? 0);
  if (nice >= 0) return nice;
  const probe = spawnSync('nice', ['-n', String(nice), 'true']);
  return probe.status === 0 && !/cannot set niceness/i.test(String(probe.stderr)) ? nice : 0;
})();

export const SHIPPED_NODE_ARGS = readFileSync(SERVER_BIN, 'utf8').split('\n')[0].replace(/^#!\/usr\/bin\/env -S node\s*/, '').split(/\s+/).filter((a) => a.startsWith('--'));
/** Node flags added to the server under test from BENCH_SERVER_NODE_ARGS (e.g. --trace-gc, --cpu-prof to place a stall). */
export const EXTRA_SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter((a) => a.startsWith('--'));
export const AGENT_BIN = join(REPO, 'packages/guest-agent/dist/bin.js');

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
export const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
export const CPUS = Number(spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim()) || 1;

/** A uuid per index (36 characters). */
export function uuidOf(i) {
  return `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Value at quantile q (0..1) of a sorted array (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

export async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Starts `node args…`, pinned to `cpu` when taskset exists; output kept for error messages. */
export function spawnNode(args, { cpu, ipc = false, env, nice } = {}) {
  const node = nice === undefined || nice === 0 ? [process.execPath, ...args] : ['nice', '-n', String(nice), process.execPath, ...args];
  const argv = HAS_TASKSET && cpu !== undefined ? ['taskset', '-c', String(cpu), ...node] : node;
  const child = spawn(argv[0], argv.slice(1), { stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.output = '';
  const keep = (chunk) => { child.output = (child.output + chunk).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

/** Asks an IPC child (guests-child.js, hostile-child.js) to stop and waits for it; SIGKILL after 10 s. */
export async function stopIpcChild(child) {
  if (child.exitCode === null && child.signalCode === null) child.send({ cmd: 'stop' });
  const exited = new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', done)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Sends `{ cmd, ...extra }` to an IPC child and resolves with its reply of type `cmd` (or 'ready'). */
export function childRequest(child, cmd, extra = {}) {
  return new Promise((resolve) => {
    const onMessage = (msg) => {
      if (msg.type === 'ready' || msg.type === cmd) {
        child.off('message', onMessage);
        resolve(msg);
      }
    };
    child.on('message', onMessage);
    child.send({ cmd, ...extra });
  });
}

export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process, ms. */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * Per thread of a process (issue 17: which thread the CPU goes to): thread id → { name, userMs, sysMs, switches }
 * from /proc/<pid>/task/*; `switches` = voluntary + involuntary context switches (the thread's wake-ups).
 */
export function threadCpu(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const switches = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      out.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), userMs: (Number(fields[11]) * 1000) / CLK_TCK, sysMs: (Number(fields[12]) * 1000) / CLK_TCK, switches });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** The main thread's user and system CPU % and wake-ups per second, and the other threads' CPU %, between two threadCpu samples. */
export function threadSplit(pid, t0, t1, windowMs) {
  const main0 = t0.get(String(pid));
  const main1 = t1.get(String(pid));
  let otherMs = 0;
  for (const [tid, b] of t1) {
    const a = t0.get(tid);
    if (tid !== String(pid)) otherMs += b.userMs + b.sysMs - (a === undefined ? 0 : a.userMs + a.sysMs);
  }
  return {
    mainUserPct: ((main1.userMs - main0.userMs) / windowMs) * 100,
    mainSysPct: ((main1.sysMs - main0.sysMs) / windowMs) * 100,
    mainSwitchesPerS: ((main1.switches - main0.switches) * 1000) / windowMs,
    otherThreadsPct: (otherMs / windowMs) * 100,
  };
}

/** VmRSS, MB. */
export function rssMb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

/** Polls until check() is true; throws naming `what` after timeoutMs. */
export async function waitUntil(check, timeoutMs, what, pollMs = 50) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

export async function waitHealthy(url, child, timeoutMs = 20_000) {
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`process exited ${child.exitCode}:\n${child.output}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }, timeoutMs, url);
}

/** Prometheus text → Map of `name{labels}` (and `name` summed) → value. */
export async function scrape(url) {
  const text = await (await fetch(url)).text();
  const out = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[3]));
    if (m[2] !== undefined) out.set(`${m[1]}${m[2]}`, Number(m[3]));
  }
  return out;
}

/**
 * Quantile of a Prometheus histogram delta (after − before), linearly interpolated inside its bucket, in
 * the histogram's unit. Returns NaN without observations.
 */
export function histogramQuantile(before, after, name, q) {
  const buckets = [];
  for (const [key, value] of after) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(key);
    if (m === null) continue;
    buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: value - (before.get(key) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

export function log(...args) {
  console.error(...args);
}
