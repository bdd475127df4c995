// Preloaded into the server by bench/memory.js (`node --expose-gc --import <this> dist/bin.js …`, with an
// IPC channel): on {cmd:'mem'} it runs a full GC, then replies with RSS and V8's heap figures per space;
// with `snapshot: <path>` it also writes a heap snapshot there. The IPC channel is unref'd so it does not
// keep a server that was told to stop alive. Nothing here runs in a shipped server.
import { readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

// Every GC pause of the server, by kind (scavenges set the challenge tail): count and durations (ms).
const pauses = { minor: [], major: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? pauses.minor : pauses.major).push(e.duration);
}).observe({ entryTypes: ['gc'] });
let startedAt = performance.now();
/** GC pauses since the last reset: per kind, count per minute, p50, p99 and max (ms). */
function gcStats() {
  const minutes = (performance.now() - startedAt) / 60_000;
  const of = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]);
    return { n: s.length, perMin: s.length / minutes, p50: q(0.5), p99: q(0.99), max: s.at(-1) ?? 0, totalMs: s.reduce((a, b) => a + b, 0) };
  };
  return { minutes, minor: of(pauses.minor), major: of(pauses.major) };
}
// BENCH_GC_LOG=<file>: the GC figures of the server's whole life, written at exit (for scale runs without IPC).
if (process.env.BENCH_GC_LOG !== undefined) process.on('exit', () => writeFileSync(process.env.BENCH_GC_LOG, JSON.stringify(gcStats())));

/** RSS by kind of mapping (kB): the brk heap (glibc's main arena), other anonymous memory (V8's pages, thread arenas, stacks), files. */
function smapsKb() {
  const out = { brk: 0, anon: 0, file: 0 };
  let kind = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head !== null) kind = head[2] === '[heap]' ? 'brk' : head[1] !== '0' || head[2].startsWith('/') ? 'file' : 'anon';
    else if (line.startsWith('Rss:')) out[kind] += Number(line.slice(4).trim().split(' ')[0]);
  }
  return out;
}

const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);

if (process.send !== undefined) {
  process.channel?.unref();
  process.on('message', (msg) => {
    if (msg?.cmd === 'gc-reset') {
      pauses.minor.length = 0;
      pauses.major.length = 0;
      startedAt = performance.now();
      process.send({ type: 'gc-reset' });
      return;
    }
    if (msg?.cmd !== 'mem') return;
    const gc = gcStats();
    const rssBeforeGcKb = rssKb();
    const spacesBeforeGc = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    globalThis.gc?.();
    globalThis.gc?.();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    const heap = v8.getHeapStatistics();
    const mu = process.memoryUsage();
    let snapshot;
    if (typeof msg.snapshot === 'string') snapshot = v8.writeHeapSnapshot(msg.snapshot);
    process.send({
      type: 'mem', gc, smapsKb: smapsKb(), rssBeforeGcKb, rssKb: rssKb(), spacesBeforeGc, spaces, snapshot,
      heap: { total: heap.total_heap_size, used: heap.used_heap_size, external: heap.external_memory, malloced: heap.malloced_memory, peakMalloced: heap.peak_malloced_memory },
      arrayBuffers: mu.arrayBuffers, external: mu.external,
    });
  });
}
