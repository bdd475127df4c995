// Issue 17 item 4 (`--only=memory`, or `node bench/memory.js [--quick] [--runs=3] [--sizes=0,100,2000,5000]
// [--flags="--max-semi-space-size=16"] [--snapshot=100,2000]`): what a guest costs guest-server in memory.
// One server per run (shipped flags plus --expose-gc, with bench/lib/mem-probe.js preloaded), guests added
// in steps (0 → 100 → 2000 → 5000 by default, each step after all guests heartbeat and a steady window).
// At each step: RSS as it stands (what `--only=perf` reads), then after a full GC: RSS, V8's old generation
// (every space but the young one, used bytes), the young generation's committed size before the GC (the
// semi-spaces the allocation rate grew), and native memory (RSS − V8's committed heap). KiB per guest =
// slope between the smallest non-zero and the largest step; base = the RSS that slope leaves at 0 guests.
// With --snapshot=A,B one more run writes a heap snapshot at A and at B guests and prints the per-guest
// difference grouped by constructor (that run is not counted: a snapshot inflates the RSS after it).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAgent } from './lib/fake-agent.js';
import {
  CPUS, SERVER_BIN, SHIPPED_NODE_ARGS, childRequest as request, freePort, log, rssMb, sleep, spawnNode, stopChild, stopIpcChild, waitHealthy, waitUntil,
} from './lib/util.js';

const GUESTS_CHILD = fileURLToPath(new URL('./guests-child.js', import.meta.url));
const PROBE = new URL('./lib/mem-probe.js', import.meta.url).href;
const GUESTS_PER_PROCESS = 5000;
export const MEMORY_SIZES = [0, 100, 2000, 5000, 10_000];
/** Issue 17 item 4. */
export const KIB_PER_GUEST_TARGET = 10;

const MB = 1024 * 1024;
/** BENCH_MEM_SERVER_ENV="MALLOC_ARENA_MAX=2 …": environment for the server (allocator experiments). */
const SERVER_ENV = Object.fromEntries((process.env.BENCH_MEM_SERVER_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const spread = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

/** One server, guests added step by step; returns one row per step (and snapshot paths when asked). */
async function runOnce({ sizes, intervalMs, settleMs, nodeArgs, snapshotAt = [], dirTag }) {
  const dir = mkdtempSync(join(tmpdir(), `gsm-${dirTag}-`));
  const agent = await startFakeAgent();
  const port = await freePort();
  writeFileSync(join(dir, 'server.ini'), `[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = ${Math.min(400, intervalMs)}\nhbs_failure_threshold = 1\nmax_instances = 20000\n`);
  const children = [];
  let server;
  const rows = [];
  try {
    server = spawnNode(['--expose-gc', '--import', PROBE, ...nodeArgs, SERVER_BIN, '--config', join(dir, 'server.ini'), '--state-dir', join(dir, 'state'), '--channel-dir', dir, '--agent-url', agent.url, '--port', String(port), '--hostname', 'bench', '--log-level', 'warn'], { cpu: 0, ipc: true, env: SERVER_ENV });
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, server);
    let have = 0;
    for (const guests of sizes) {
      // New guest processes for the increment (≤ 5000 guests each: two descriptors per guest).
      while (have < guests) {
        const count = Math.min(GUESTS_PER_PROCESS, guests - have);
        const child = spawnNode([GUESTS_CHILD], { cpu: CPUS > 1 ? 1 : undefined, ipc: true });
        children.push(child);
        await request(child, 'start', { dir, first: have, count, intervalMs });
        have += count;
      }
      await waitUntil(async () => (await Promise.all(children.map((c) => request(c, 'status')))).reduce((n, r) => n + r.heartbeating, 0) === guests, 120_000, `${guests} guests heartbeating`, 250);
      await sleep(settleMs / 3);
      await request(server, 'gc-reset');
      await sleep(settleMs);
      const load1 = loadavg()[0];
      const rssNatural = rssMb(server.pid);
      const snapshot = snapshotAt.includes(guests) ? join(tmpdir(), `gsm-${dirTag}-${guests}.heapsnapshot`) : undefined;
      const m = await request(server, 'mem', { snapshot });
      const young = ['new_space', 'new_large_object_space'];
      const oldUsed = Object.entries(m.spaces).filter(([k]) => !young.includes(k)).reduce((n, [, s]) => n + s.used, 0);
      const youngBeforeGc = young.reduce((n, k) => n + (m.spacesBeforeGc[k] ?? 0), 0);
      rows.push({
        guests, load1, rssMb: rssNatural, rssGcMb: m.rssKb / 1024, oldUsedMb: oldUsed / MB, youngMb: youngBeforeGc / MB,
        heapCommittedMb: m.heap.total / MB, nativeMb: m.rssKb / 1024 - m.heap.total / MB, arrayBuffersMb: m.arrayBuffers / MB, externalMb: m.external / MB,
        mallocedMb: m.heap.malloced / MB, gc: m.gc, scavPerMin: m.gc.minor.perMin, scavP50Ms: m.gc.minor.p50, scavMaxMs: m.gc.minor.max, gcMsPerS: (m.gc.minor.totalMs + m.gc.major.totalMs) / (m.gc.minutes * 60), brkMb: m.smapsKb.brk / 1024, anonMb: m.smapsKb.anon / 1024, fileMb: m.smapsKb.file / 1024, snapshot: m.snapshot,
      });
      const r = rows.at(-1);
      log(`  ${guests} guests: RSS ${r.rssMb.toFixed(1)} MB (after GC ${r.rssGcMb.toFixed(1)}), old gen ${r.oldUsedMb.toFixed(1)} MB, young ${r.youngMb.toFixed(1)} MB, native ${r.nativeMb.toFixed(1)} MB; brk heap ${r.brkMb.toFixed(1)}, anon ${r.anonMb.toFixed(1)}, files ${r.fileMb.toFixed(1)} MB; scavenges ${r.gc.minor.perMin.toFixed(0)}/min p50 ${r.gc.minor.p50.toFixed(1)} max ${r.gc.minor.max.toFixed(1)} ms, ${r.gc.minor.totalMs.toFixed(0)} ms in ${r.gc.minutes.toFixed(2)} min, major ${r.gc.major.n} (load ${load1.toFixed(1)})`);
    }
  } finally {
    // BENCH_MEM_SERVER_OUTPUT=1: the server's last output (e.g. with --flags="… --trace-gc-nvp").
    if (process.env.BENCH_MEM_SERVER_OUTPUT !== undefined && server !== undefined) log(server.output);
    if (server !== undefined) await stopChild(server);
    await Promise.all(children.map(stopIpcChild));
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** KiB per guest of `key` between the smallest non-zero step and the largest. */
function slopeKib(rows, key) {
  const from = rows.find((r) => r.guests > 0);
  const to = rows.at(-1);
  return ((to[key] - from[key]) * 1024) / (to.guests - from.guests);
}

/**
 * A heap snapshot's self sizes and counts by constructor (objects), or by kind for strings, code, arrays…;
 * closures by function name and plain objects by their first property names, so a per-guest row names
 * the code that made it.
 */
export function snapshotByConstructor(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const iEdges = fields.indexOf('edge_count');
  const eWidth = meta.edge_fields.length;
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const out = new Map();
  let edge = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const name = strings[nodes[i + iName]];
    const edgeCount = nodes[i + iEdges];
    let key;
    if (type === 'object' && name === 'Object') {
      const props = [];
      for (let e = edge; e < edge + edgeCount * eWidth && props.length < 4; e += eWidth) {
        if (edgeTypes[edges[e + eType]] === 'property') props.push(strings[edges[e + eName]]);
      }
      key = `Object {${props.join(',')}}`;
    } else if (type === 'object' || type === 'native') key = type === 'native' ? `(native) ${name}` : name;
    else if (type === 'closure') key = `(closure) ${name || 'anonymous'}`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') key = '(strings)';
    else if (type === 'hidden' || type === 'array' || type === 'object shape') key = `(${type}) ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
    else if (type === 'code') key = `(code) ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
    else key = `(${type})`;
    edge += edgeCount * eWidth;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += nodes[i + iSize];
    out.set(key, e);
  }
  return out;
}

/** Per-guest difference of two snapshots grouped by constructor, largest first. */
export function snapshotDiff(a, b, guests) {
  const rows = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? { count: 0, bytes: 0 };
    const y = b.get(key) ?? { count: 0, bytes: 0 };
    rows.push({ key, perGuestBytes: (y.bytes - x.bytes) / guests, perGuestCount: (y.count - x.count) / guests });
  }
  return rows.sort((p, q) => q.perGuestBytes - p.perGuestBytes);
}

/** The extra run of --snapshot=A,B: per-guest heap difference by constructor between A and B guests. */
async function snapshotRun({ snapshotAt, settleMs, nodeArgs }) {
  if (snapshotAt.length !== 2) return undefined;
  log(`memory: heap snapshots at ${snapshotAt.join(' and ')} guests (an extra run, not counted) …`);
  const rows = await runOnce({ sizes: snapshotAt, intervalMs: 400, settleMs, nodeArgs, snapshotAt, dirTag: 'snap' });
  const [a, b] = rows.map((r) => snapshotByConstructor(r.snapshot));
  if (process.env.BENCH_KEEP_SNAPSHOTS === undefined) for (const r of rows) rmSync(r.snapshot, { force: true });
  return { from: snapshotAt[0], to: snapshotAt[1], top: snapshotDiff(a, b, snapshotAt[1] - snapshotAt[0]).filter((t) => Math.abs(t.perGuestBytes) >= 8).slice(0, 60) };
}

export async function runMemory({ quick = false, runs = 3, sizes = MEMORY_SIZES, nodeArgs = SHIPPED_NODE_ARGS, snapshotAt = [] } = {}) {
  const settleMs = quick ? 6_000 : 15_000;
  const all = [];
  for (let run = 1; run <= runs; run++) {
    log(`memory: run ${run}/${runs}, ${sizes.join(' → ')} guests @400 ms, ${nodeArgs.join(' ') || 'no node flags'} (load ${loadavg()[0].toFixed(1)}) …`);
    all.push(await runOnce({ sizes, intervalMs: 400, settleMs, nodeArgs, dirTag: String(run) }));
  }
  if (runs === 0) return { runs, sizes, nodeArgs: nodeArgs.join(' '), settleMs, steps: [], snapshot: await snapshotRun({ snapshotAt, settleMs, nodeArgs }) };
  const keys = ['rssMb', 'rssGcMb', 'oldUsedMb', 'youngMb', 'nativeMb', 'arrayBuffersMb', 'mallocedMb', 'brkMb', 'anonMb', 'fileMb'];
  const perGuestKib = Object.fromEntries(keys.map((k) => [k, spread(all.map((rows) => slopeKib(rows, k)))]));
  const bases = all.map((rows) => {
    const from = rows.find((r) => r.guests > 0);
    return from.rssMb - (slopeKib(rows, 'rssMb') * from.guests) / 1024;
  });
  const steps = sizes.map((guests) => {
    const of = all.map((rows) => rows.find((r) => r.guests === guests));
    return { guests, ...Object.fromEntries([...keys, 'heapCommittedMb', 'scavPerMin', 'scavP50Ms', 'scavMaxMs', 'gcMsPerS', 'load1'].map((k) => [k, spread(of.map((r) => r[k]))])) };
  });
  const snapshot = await snapshotRun({ snapshotAt, settleMs, nodeArgs });
  return { runs, sizes, nodeArgs: nodeArgs.join(' '), settleMs, steps, perGuestKib, baseMb: spread(bases), snapshot };
}

/** The report `bench/run.js --only=memory` and the command line print. */
export function printMemory(r, target = () => undefined) {
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const mmm = (x, d = 1) => `${f(x.min, d)} / ${f(x.median, d)} / ${f(x.max, d)}`;
  console.log(`\nh) issue 17 memory: guest-server (${r.nodeArgs || 'no node flags'}), guests @400 ms added in steps, ${r.runs} runs (min / median / max), ${r.settleMs / 1000} s steady per step`);
  const cols = [['guests', (s) => String(s.guests)], ['RSS MB', (s) => mmm(s.rssMb)], ['RSS after GC', (s) => mmm(s.rssGcMb)], ['old gen used', (s) => mmm(s.oldUsedMb)],
    ['young gen', (s) => mmm(s.youngMb)], ['native (RSS−heap)', (s) => mmm(s.nativeMb)],
    ['scavenges/min', (s) => mmm(s.scavPerMin, 0)], ['scavenge p50 ms', (s) => mmm(s.scavP50Ms)], ['scavenge max ms', (s) => mmm(s.scavMaxMs)], ['GC ms/s', (s) => mmm(s.gcMsPerS)],
    ['load avg', (s) => mmm(s.load1)]];
  const cells = [cols.map((c) => c[0]), ...r.steps.map((s) => cols.map((c) => c[1](s)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  for (const [n, row] of cells.entries()) {
    console.log(row.map((cell, i) => cell.padStart(widths[i])).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const k = r.perGuestKib;
  if (k !== undefined) console.log(`per guest (KiB, slope ${r.sizes.find((s) => s > 0)} → ${r.sizes.at(-1)}): RSS ${mmm(k.rssMb)}, RSS after GC ${mmm(k.rssGcMb)}, old gen ${mmm(k.oldUsedMb)}, young gen ${mmm(k.youngMb)}, native ${mmm(k.nativeMb)} (array buffers ${mmm(k.arrayBuffersMb)}, V8 malloc ${mmm(k.mallocedMb)}); by mapping: brk heap ${mmm(k.brkMb)}, anonymous ${mmm(k.anonMb)}, files ${mmm(k.fileMb)}`);
  if (k !== undefined) console.log(`base (RSS at 0 guests by that slope): ${mmm(r.baseMb, 0)} MB`);
  if (r.snapshot !== undefined) {
    console.log(`heap snapshot, ${r.snapshot.from} → ${r.snapshot.to} guests, per guest by constructor (self size, bytes; count):`);
    for (const t of r.snapshot.top) console.log(`  ${t.perGuestBytes.toFixed(0).padStart(6)}  ${t.perGuestCount.toFixed(2).padStart(6)}  ${t.key}`);
  }
  if (k !== undefined) target(`memory: ≤ ${KIB_PER_GUEST_TARGET} KiB RSS per guest above the base (median, ${r.sizes.find((s) => s > 0)} → ${r.sizes.at(-1)} guests)`, `${mmm(k.rssMb)} KiB (base ${f(r.baseMb.median, 0)} MB)`, k.rssMb.median <= KIB_PER_GUEST_TARGET);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const list = (s) => s?.split(',').filter(Boolean).map(Number);
  const r = await runMemory({
    quick: process.argv.includes('--quick'), runs: Number(arg('runs') ?? 3), sizes: list(arg('sizes')) ?? MEMORY_SIZES,
    nodeArgs: arg('flags') !== undefined ? arg('flags').split(' ').filter(Boolean) : SHIPPED_NODE_ARGS, snapshotAt: list(arg('snapshot')) ?? [],
  });
  printMemory(r, (name, measured, pass) => console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${measured}`));
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
}
