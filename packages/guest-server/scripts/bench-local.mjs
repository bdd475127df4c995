// Local figures for guest-server (not a test): N simulated guests in this process, guest-server as a child
// process (dist/bin.js), a fake agent here. Prints challenge jitter (interval error seen by the guests),
// loss detection latency and the server's CPU and RSS.
// Usage: node packages/guest-server/scripts/bench-local.mjs [guests=2000] [intervalMs=400] [seconds=20]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [N = 2000, INTERVAL = 400, SECONDS = 20] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'gsb-'));
const uuid = (i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;
const guests = [];
const deltas = [];
const silentAt = new Map();   // uuid -> time of the first unanswered challenge
const lossLatency = [];
let measuring = false;

for (let i = 0; i < N; i++) {
  const g = { uuid: uuid(i), last: 0, silent: false };
  const server = createServer((sock) => {
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
        if (line.length < 2) continue;
        const m = JSON.parse(line);
        if (m.msg_type !== 'challenge') continue;
        const now = performance.now();
        if (g.silent) { if (!silentAt.has(g.uuid)) silentAt.set(g.uuid, now); continue; }
        if (measuring && g.last > 0) deltas.push(Math.abs(now - g.last - INTERVAL));
        g.last = now;
        sock.write(`\n{"version":3,"revision":1,"msg_type":"challenge_response","sequence":1,"heartbeat_response":${m.heartbeat_challenge},"heartbeat_health":"healthy","corrective_action":"log","log_msg":""}\n`);
      }
    });
    sock.write(`\n{"version":3,"revision":1,"msg_type":"init","sequence":0,"invocation_id":${i},"name":"g${i}","heartbeat_interval_ms":${INTERVAL},"vote_secs":10,"shutdown_notice_secs":10,"suspend_notice_secs":10,"resume_notice_secs":10,"restart_secs":120,"corrective_action":"log"}\n`);
  });
  server.listen(join(dir, `cgcs.heartbeat.${g.uuid}.sock`));
  guests.push(g);
}

let running = 0;
const agent = createHttp((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const { events } = JSON.parse(body);
    const now = performance.now();
    for (const e of events) {
      if (e.kind === 'running') running++;
      if (e.kind === 'loss' && silentAt.has(e.uuid)) lossLatency.push(now - silentAt.get(e.uuid));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ acked: events.map((e) => e.id) }));
  });
}).listen(0, '127.0.0.1');
await new Promise((r) => agent.once('listening', r));
const agentUrl = `http://127.0.0.1:${agent.address().port}`;
writeFileSync(join(dir, 'g.ini'), '[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = 400\nhbs_failure_threshold = 1\n');
const port = await new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const profArgs = process.env.GS_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GS_BENCH_PROF}`] : [];
const child = spawn(process.execPath, [...profArgs, bin, '--config', join(dir, 'g.ini'), '--channel-dir', dir, '--agent-url', agentUrl, '--port', String(port), '--hostname', 'bench', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
const cpu = () => { const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
while (running < N && performance.now() - t0 < 60_000) await sleep(100);
console.log(`${running}/${N} running after ${Math.round(performance.now() - t0)} ms`);
await sleep(2000);
measuring = true;
const lateBefore = await lateness();
const cpu0 = cpu(); const w0 = performance.now();
await sleep(SECONDS * 1000);
const cpuPct = ((cpu() - cpu0) / (performance.now() - w0)) * 100;
measuring = false;
deltas.sort((a, b) => a - b);
const q = (p) => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))].toFixed(2);
console.log(`challenge interval error over ${deltas.length} intervals: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${deltas.at(-1).toFixed(2)} ms`);
console.log(`guest-server CPU ${cpuPct.toFixed(1)} % of one core, RSS ${rss().toFixed(0)} MB`);
const lateAfter = await lateness();
const late = Object.fromEntries(Object.entries(lateAfter).map(([k, v]) => [k, v - lateBefore[k]]));
const total = late['+Inf'];
console.log(`server-side challenge lateness in the window (${total} challenges): ≤1ms ${pct(late['0.001'])}, ≤2ms ${pct(late['0.002'])}, ≤5ms ${pct(late['0.005'])}, ≤10ms ${pct(late['0.01'])}, ≤25ms ${pct(late['0.025'])}, ≤50ms ${pct(late['0.05'])}`);
async function lateness() {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Object.fromEntries([...metrics.matchAll(/guest_server_challenge_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/g)].map((m) => [m[1], Number(m[2])]));
}
const procText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const metric = (name) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(procText)?.[1]);
console.log(`heap used ${(metric('nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(0)} MB`);
function pct(n) { return `${((100 * n) / total).toFixed(2)}%`; }
// Loss: 20 guests go silent (they stop answering); reported loss needs reporting enabled.
await Promise.all(guests.slice(0, 20).map(async (g) => {
  const res = await fetch(`http://127.0.0.1:${port}/v1/instances/${g.uuid}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"reporting":"enabled"}' });
  await res.text();
}));
for (const g of guests.slice(0, 20)) g.silent = true;
const t1 = performance.now();
while (lossLatency.length < 20 && performance.now() - t1 < 10_000) await sleep(50);
lossLatency.sort((a, b) => a - b);
console.log(`loss reported ${lossLatency.length}/20, first-unanswered-challenge → loss event: min ${lossLatency[0]?.toFixed(0)} ms, max ${lossLatency.at(-1)?.toFixed(0)} ms (target ≤ ${2 * INTERVAL + 50})`);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
agent.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);

