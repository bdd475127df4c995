// Issue 8 item 4a: guest-server scale. N guests in a separate process (pinned to the other core), the
// server pinned to CPU 0, a fake agent here. After every guest heartbeats and a short warm-up, a steady
// window: challenge-interval jitter as the guests see it, challenge→response time from the server's
// histogram, server CPU % (utime+stime over the window) and RSS, and false losses (loss events at the agent
// plus the server's loss counter; every guest answers, so any loss is false).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAgent } from './lib/fake-agent.js';
import {
  CPUS, EXTRA_SERVER_NODE_ARGS, SERVER_BIN, SHIPPED_NICE, SHIPPED_NODE_ARGS, cpuMs, threadCpu, threadSplit, summarize, freePort, histogramQuantile, log, rssMb, scrape, sleep, spawnNode, stopChild, stopIpcChild, childRequest as request, waitHealthy, waitUntil,
} from './lib/util.js';

const GUESTS_CHILD = fileURLToPath(new URL('./guests-child.js', import.meta.url));

const GUESTS_PER_PROCESS = 5000;

/** Jitter summaries of several guest processes: p50/p99 from their raw samples when given, else the worst. */
function mergeJitter(parts) {
  if (parts.length === 1) return parts[0];
  if (parts.every((p) => Array.isArray(p.samples))) return summarize(parts.flatMap((p) => p.samples));
  return { n: parts.reduce((n, p) => n + p.n, 0), p50: Math.max(...parts.map((p) => p.p50)), p99: Math.max(...parts.map((p) => p.p99)), max: Math.max(...parts.map((p) => p.max)) };
}

/** One scale point: `guests` at `intervalMs` for `seconds` of steady state. */
/**
 * One server under `guests` guests. `steadyRssAtMs` (issue 17): also read the server's RSS that long after every
 * guest heartbeats (`rssSteadyMb`, and losses are counted to then), once V8's memory reducer has returned
 * the start-up burst's garbage; it runs ~100 s after the burst's last major GC when the allocation rate is
 * high (10 000 guests: RSS 228 → 173 MB at ~105 s). 0 = at the window's end, like `rssMb`.
 */
export async function runScalePoint({ guests, intervalMs, seconds, warmupMs = 3_000, nodeArgs = [], extraIni = '', steadyRssAtMs = 0 }) {
  const dir = mkdtempSync(join(tmpdir(), 'gsb-'));
  const agent = await startFakeAgent();
  const port = await freePort();
  writeFileSync(join(dir, 'server.ini'), `[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = ${Math.min(400, intervalMs)}\nhbs_failure_threshold = 1\nmax_instances = 20000\n${extraIni}`);
  // A guest takes two descriptors (listening socket and connection): ≤ 5000 guests per process keeps each
  // under a 20 000 descriptor limit (10 000 guests run in two processes, both on the load CPU).
  const parts = Math.max(1, Math.ceil(guests / GUESTS_PER_PROCESS));
  // The guests measure the jitter: they run at the server's shipped priority so that a busy machine's
  // scheduling of the load generator does not count against the server (README, row f).
  const children = Array.from({ length: parts }, () => spawnNode([GUESTS_CHILD], { cpu: CPUS > 1 ? 1 : undefined, ipc: true, nice: SHIPPED_NICE }));
  const all = async (cmd, extra) => Promise.all(children.map((c) => request(c, cmd, extra)));
  let server;
  try {
    await Promise.all(children.map((c, k) => {
      const first = Math.floor((k * guests) / parts);
      return request(c, 'start', { dir, first, count: Math.floor(((k + 1) * guests) / parts) - first, intervalMs });
    }));
    const nodeFlags = [...nodeArgs, ...EXTRA_SERVER_NODE_ARGS];
    server = spawnNode([...nodeFlags, SERVER_BIN, '--config', join(dir, 'server.ini'), '--state-dir', join(dir, 'state'), '--channel-dir', dir, '--agent-url', agent.url, '--port', String(port), '--hostname', 'bench', '--log-level', 'warn'], { cpu: 0, nice: SHIPPED_NICE });
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/healthz`, server);
    const t0 = performance.now();
    await waitUntil(async () => (await all('status')).reduce((n, r) => n + r.heartbeating, 0) === guests, 120_000, `${guests} guests heartbeating`, 250);
    const startupMs = performance.now() - t0;
    await sleep(warmupMs);
    const before = await scrape(`${base}/metrics`);
    const lossesBefore = agent.counts.get('loss') ?? 0;
    await all('measure');
    const cpu0 = cpuMs(server.pid);
    const threads0 = threadCpu(server.pid);
    const guestCpu0 = children.reduce((n, c) => n + cpuMs(c.pid), 0);
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const cpu1 = cpuMs(server.pid);
    const threads1 = threadCpu(server.pid);
    const guestCpu1 = children.reduce((n, c) => n + cpuMs(c.pid), 0);
    const w1 = performance.now();
    const reports = await all('report', { samples: parts > 1 });
    const report = { jitter: mergeJitter(reports.map((r) => r.jitter)), reconnects: reports.reduce((n, r) => n + r.reconnects, 0) };
    const rss = rssMb(server.pid);
    const majorGcs = async () => (await scrape(`${base}/metrics`)).get('nodejs_gc_duration_seconds_count{kind="major"}') ?? 0;
    const majorGcsAtWindowEnd = steadyRssAtMs > 0 ? await majorGcs() : 0;
    const holdMs = steadyRssAtMs - (performance.now() - t0 - startupMs);
    if (holdMs > 0) await sleep(holdMs);
    const rssSteady = rssMb(server.pid);
    const majorGcsInHold = steadyRssAtMs > 0 ? (await majorGcs()) - majorGcsAtWindowEnd : 0;
    if (process.env.BENCH_DEBUG) log(server.output.slice(-6000));
    const after = await scrape(`${base}/metrics`);
    const serverLosses = (after.get('guest_server_losses_total') ?? 0) - (before.get('guest_server_losses_total') ?? 0);
    return {
      guests, intervalMs, seconds, nodeArgs: nodeArgs.join(' '), nice: SHIPPED_NICE, startupMs: Math.round(startupMs),
      jitterP50Ms: report.jitter.p50, jitterP99Ms: report.jitter.p99, jitterMaxMs: report.jitter.max, intervals: report.jitter.n,
      rttP50Ms: histogramQuantile(before, after, 'guest_server_challenge_response_seconds', 0.5) * 1000,
      rttP99Ms: histogramQuantile(before, after, 'guest_server_challenge_response_seconds', 0.99) * 1000,
      latenessP99Ms: histogramQuantile(before, after, 'guest_server_challenge_lateness_seconds', 0.99) * 1000,
      cpuPct: ((cpu1 - cpu0) / (w1 - w0)) * 100,
      guestsCpuPct: ((guestCpu1 - guestCpu0) / (w1 - w0)) * 100,
      // Where the server's CPU went (issue 17): its main thread (user, system, wake-ups/s) and the other threads.
      ...threadSplit(server.pid, threads0, threads1, w1 - w0),
      rssMb: rss,
      rssSteadyMb: rssSteady,
      steadyRssAtS: Math.round(Math.max(steadyRssAtMs, performance.now() - t0 - startupMs) / 1000),
      majorGcsInHold,
      falseLosses: Math.max(serverLosses, (agent.counts.get('loss') ?? 0) - lossesBefore),
      misses: (after.get('guest_server_misses_total') ?? 0) - (before.get('guest_server_misses_total') ?? 0),
      reconnects: report.reconnects,
    };
  } finally {
    if (server !== undefined) await stopChild(server);
    await Promise.all(children.map(stopIpcChild));
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runScale({ quick }) {
  const sizes = [100, 1000, 2000, 5000];
  const intervals = [400, 1000];
  const seconds = quick ? 8 : 30;
  const points = [
    // As shipped (the targets), then Node's default flags at 400 ms for comparison.
    ...intervals.flatMap((intervalMs) => sizes.map((guests) => ({ guests, intervalMs, nodeArgs: SHIPPED_NODE_ARGS }))),
    ...[1000, 2000, 5000].map((guests) => ({ guests, intervalMs: 400, nodeArgs: [], defaultFlags: true })),
  ];
  const rows = [];
  for (const point of points) {
    log(`scale: ${point.guests} guests at ${point.intervalMs} ms, ${seconds} s ${point.nodeArgs.join(' ')} …`);
    const row = { ...(await runScalePoint({ ...point, seconds, warmupMs: quick ? 2_000 : 3_000 })), shipped: point.defaultFlags !== true };
    log(`  jitter p99 ${row.jitterP99Ms.toFixed(2)} ms, CPU ${row.cpuPct.toFixed(1)} %, RSS ${row.rssMb.toFixed(0)} MB, false losses ${row.falseLosses}`);
    rows.push(row);
  }
  return rows;
}
