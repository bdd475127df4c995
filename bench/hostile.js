// Issue 11 item 4: fairness under hostile guests. 20 good guests (guests-child.js) beside 500 hostile ones
// (hostile-child.js: garbage floods, byte-at-a-time writers, re-init loops, wrong echoes) against one
// guest-server process pinned to CPU 0, at its shipped log level (info). Measured over a steady window:
// the good guests' challenge jitter (as they see it), false losses (loss events for good guests at the fake
// agent), server CPU and RSS, the server's log volume (bytes of stdout, scaled to MB per minute) and the
// budget drops it counted.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAgent } from './lib/fake-agent.js';
import { CPUS, EXTRA_SERVER_NODE_ARGS, HAS_TASKSET, SERVER_BIN, SHIPPED_NICE, SHIPPED_NODE_ARGS, cpuMs, freePort, histogramQuantile, log, rssMb, scrape, sleep, spawnNode, stopChild, stopIpcChild, childRequest as request, uuidOf, waitHealthy, waitUntil } from './lib/util.js';

const GOOD_CHILD = fileURLToPath(new URL('./guests-child.js', import.meta.url));
const HOSTILE_CHILD = fileURLToPath(new URL('./hostile-child.js', import.meta.url));

/** Like spawnNode (ipc), at nice 10. */
function spawnNice(args, cpu) {
  const node = ['nice', '-n', '10', process.execPath, ...args];
  const argv = HAS_TASKSET && cpu !== undefined ? ['taskset', '-c', String(cpu), ...node] : node;
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.output = '';
  const keep = (chunk) => { child.output = (child.output + chunk).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

export async function runHostile({ quick, good = 20, hostile = 500, intervalMs = 400 }) {
  const seconds = quick ? 20 : 60;
  const dir = mkdtempSync(join(tmpdir(), 'gsh-'));
  const agent = await startFakeAgent();
  const port = await freePort();
  writeFileSync(join(dir, 'server.ini'), `[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = ${intervalMs}\nhbs_failure_threshold = 1\n`);
  // The good guests are the measuring instrument: they run at the server's shipped priority, so what they see
  // is the server's timing, not the busy machine's scheduling of the load generator (README "Scheduling priority").
  const goodChild = spawnNode([GOOD_CHILD], { cpu: CPUS > 1 ? 1 : undefined, ipc: true, nice: SHIPPED_NICE });
  // The attackers' own process runs at a lower priority than the good guests' (nice 10): the figure is the
  // server's fairness, not how the two load generators share CPU 1.
  const hostileChild = spawnNice([HOSTILE_CHILD], CPUS > 1 ? 1 : undefined);
  let server;
  try {
    await request(goodChild, 'start', { dir, first: 0, count: good, intervalMs });
    server = spawnNode([...SHIPPED_NODE_ARGS, ...EXTRA_SERVER_NODE_ARGS, SERVER_BIN, '--config', join(dir, 'server.ini'), '--state-dir', join(dir, 'state'), '--channel-dir', dir, '--agent-url', agent.url, '--port', String(port), '--hostname', 'bench', '--log-level', 'info'], { cpu: 0, nice: SHIPPED_NICE });
    let logBytes = 0;
    server.stdout.on('data', (chunk) => { logBytes += chunk.length; });
    // BENCH_SERVER_OUTPUT=<file>: the server's whole stdout, e.g. with BENCH_SERVER_NODE_ARGS=--trace-gc.
    if (process.env.BENCH_SERVER_OUTPUT) server.stdout.on('data', (chunk) => appendFileSync(process.env.BENCH_SERVER_OUTPUT, chunk));
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/healthz`, server);
    await waitUntil(async () => (await request(goodChild, 'status')).heartbeating === good, 60_000, `${good} good guests heartbeating`, 250);
    await request(hostileChild, 'start', { dir, first: 10_000, count: hostile, intervalMs });
    await waitUntil(async () => (await request(hostileChild, 'status')).connected >= hostile * 0.9, 60_000, 'hostile guests connected', 250);
    await sleep(quick ? 2_000 : 5_000);
    const goodUuids = new Set(Array.from({ length: good }, (_, i) => uuidOf(i)));
    const lossesBefore = agent.losses.filter((l) => goodUuids.has(l.uuid)).length;
    const before = await scrape(`${base}/metrics`);
    await request(goodChild, 'measure');
    const log0 = logBytes;
    const cpu0 = cpuMs(server.pid);
    const loadCpu0 = cpuMs(hostileChild.pid) + cpuMs(goodChild.pid);
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const cpu1 = cpuMs(server.pid);
    const loadCpu1 = cpuMs(hostileChild.pid) + cpuMs(goodChild.pid);
    const w1 = performance.now();
    const log1 = logBytes;
    const report = await request(goodChild, 'report');
    const after = await scrape(`${base}/metrics`);
    const drops = {};
    for (const [key, value] of after) {
      const m = /^guest_server_guest_budget_drops_total\{kind="([^"]+)"\}$/.exec(key);
      if (m !== null) drops[m[1]] = value - (before.get(key) ?? 0);
    }
    if (process.env.BENCH_DEBUG) log(server.output.slice(-6000));
    return {
      good, hostile, intervalMs, seconds, loadAvg: loadavg()[0], serverNice: SHIPPED_NICE,
      jitterP50Ms: report.jitter.p50, jitterP99Ms: report.jitter.p99, jitterMaxMs: report.jitter.max, intervals: report.jitter.n,
      latenessP99Ms: histogramQuantile(before, after, 'guest_server_challenge_lateness_seconds', 0.99) * 1000,
      guestsCpuPct: ((loadCpu1 - loadCpu0) / (w1 - w0)) * 100,
      falseLosses: agent.losses.filter((l) => goodUuids.has(l.uuid)).length - lossesBefore,
      cpuPct: ((cpu1 - cpu0) / (w1 - w0)) * 100,
      rssMb: rssMb(server.pid),
      logMbPerMin: ((log1 - log0) / (1024 * 1024)) * (60_000 / (w1 - w0)),
      drops,
      goodReconnects: report.reconnects,
      guestLoopStallMaxMs: report.loopStallMaxMs,
      // prom-client resets the event-loop histogram at each scrape: the window's longest interval between runs of
      // its 100 ms timer (guest-server metrics.ts), so the stall is what exceeds 100 ms.
      serverLoopStallMaxMs: Math.max(0, (after.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000 - 100),
    };
  } finally {
    if (server !== undefined) await stopChild(server);
    await stopIpcChild(hostileChild);
    await stopIpcChild(goodChild);
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
