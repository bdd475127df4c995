// Issue 16 item 6: the cost of host-side corroboration. 2000 guests @ 400 ms with `[client] corroborate =
// off` and `= report`, alternated, three runs each (the spread between runs is the yardstick for jitter);
// server CPU and jitter p99 as in the scale benchmark. The bench's guests all live in one process, so the
// server finds one "VMM" for all 2000 channels and samples it once per tick: the row measures locating,
// the forensics ring, the per-session policy/metrics hooks and the tick, not 2000 distinct QEMUs. For those,
// the per-VMM sample (process stat, plus stat and schedstat of one vCPU thread) is timed here directly and
// scaled to 2000 VMMs: sampled every 5 s while their guests answer, every 400 ms when all are at risk.
import { ProcProbe } from '@guesthb/guest-server';
import { spawn } from 'node:child_process';
import { runScalePoint } from './scale.js';
import { log } from './lib/util.js';

/** CPU % of one core that sampling `vmms` distinct 1-vCPU VMMs every `intervalMs` costs, measured on a real process. */
async function sampleCost(vmms, intervalMs, seconds) {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((done) => setTimeout(done, 300));
  const probe = new ProcProbe();
  const pid = child.pid;
  const tids = [pid];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let samples = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const tick = performance.now();
    for (let i = 0; i < vmms; i++) {
      probe.sample(pid, tids);
      samples++;
    }
    await new Promise((done) => setTimeout(done, Math.max(0, intervalMs - (performance.now() - tick))));
  }
  const c1 = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  child.kill('SIGKILL');
  const cpuMs = (c1.user + c1.system) / 1000;
  return { samples, usPerSample: (cpuMs * 1000) / samples, cpuPct: (cpuMs / wall) * 100 };
}

export async function runCorroboration({ quick }) {
  const seconds = quick ? 8 : 20;
  const runs = 3;
  const rows = [];
  for (let run = 0; run < runs; run++) {
    for (const mode of ['off', 'report']) {
      log(`corroboration: 2000 guests @400 ms, corroborate = ${mode}, run ${run + 1}/${runs} …`);
      const row = await runScalePoint({ guests: 2000, intervalMs: 400, seconds, warmupMs: quick ? 2_000 : 3_000, extraIni: `corroborate = ${mode}\n` });
      rows.push({ ...row, mode, run: run + 1 });
      log(`  jitter p99 ${row.jitterP99Ms.toFixed(2)} ms, CPU ${row.cpuPct.toFixed(1)} %, false losses ${row.falseLosses}`);
    }
  }
  log('corroboration: timing the per-VMM sample …');
  const sample = await sampleCost(2000, 400, quick ? 4 : 8);
  return { rows, sample };
}
