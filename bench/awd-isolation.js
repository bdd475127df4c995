// Issue 13 item 3: no watchdog can delay another. One awd process (the real CLI) runs 50 watchdogs.
// 49 of them fire over and over (their guests beat once, then stay silent for timeout + gap); the 50th
// fires once with a 1 MB QMP opt_script against a real QEMU (-machine none), which then answers every
// command. Figures: the 49 watchdogs' firing error (actual firing − (input read + timeout), as awd's
// `timeout` events report it in lateMs) before and while the big notification runs; /status latency
// (the HTTP endpoint shares the event loop); start-up time including parsing the 1 MB script; the CPU
// share of awd and QEMU while the big notification runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, freePort, sleep, stopChild, summarize } from './lib/util.js';

const AWD_BIN = join(dirname(fileURLToPath(import.meta.resolve('@guesthb/awd'))), 'bin.js');
const OTHERS = 49;
const SCRIPT_BYTES = 1_000_000;

/** A 1 MB script of harmless commands in every form the QMP splitter handles. */
function bigScript() {
  const block = [
    '{ "execute": "query-status" }',
    'info status',
    '{',
    '  "execute": "query-name"',
    '}',
    '{"execute":"query-version"} {"execute":"query-uuid"}',
    '# comment lines are skipped',
    '',
  ].join('\n');
  let text = '{ "execute": "qmp_capabilities" }\n';
  while (text.length + block.length < SCRIPT_BYTES) text += block;
  return `${text}${'#'.repeat(SCRIPT_BYTES - text.length - 1)}\n`;
}

async function waitFor(check, timeoutMs, what) {
  const start = performance.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() - start > timeoutMs) throw new Error(`awd-isolation: timed out waiting for ${what}`);
    await sleep(20);
  }
}

function canConnect(path) {
  return new Promise((done) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); done(true); });
    s.once('error', () => done(false));
  });
}

async function timedStatus(port) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  const body = await res.json();
  return { ms: performance.now() - t0, body };
}

/** One run: returns the figures of both phases. */
async function runOnce({ baselineMs, maxBigMs, timeoutMs, gapMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'awd-iso-'));
  const children = [];
  try {
    const qmpPath = join(dir, 'qmp.sock');
    const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-accel', 'tcg', '-nographic', '-nodefaults', '-qmp', `unix:${qmpPath},server=on,wait=off`], { stdio: 'ignore' });
    children.push(qemu);
    await waitFor(() => canConnect(qmpPath), 10_000, 'QEMU QMP socket');
    const scriptPath = join(dir, 'big.qmp');
    writeFileSync(scriptPath, bigScript());
    writeFileSync(join(dir, 'small.txt'), 'info status\n');
    const lines = [];
    for (let i = 0; i <= OTHERS; i++) {
      const id = i === 0 ? 'big' : `w${i}`;
      lines.push(`chardev socket,id=${id}-hb,path=${join(dir, `${id}.sock`)},server=on,wait=off`);
      // The 49 notify a monitor that is not there: one failed connect per firing, no retry.
      lines.push(`chardev socket,id=${id}-mon,path=${i === 0 ? qmpPath : join(dir, 'nobody.sock')}`);
      const props = i === 0
        ? `opt_script=${scriptPath},notify=qmp,timeout=${timeoutMs},pulse_interval=1000`
        : `opt_script=${join(dir, 'small.txt')},notify=raw,notify_retries=0,timeout=${timeoutMs},pulse_interval=1000`;
      lines.push(`object advanced-watchdog,id=${id},server=on,awd_node=${id}-hb,notification_node=${id}-mon,iothread=io,${props}`);
    }
    const conf = join(dir, 'awd.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const httpPort = await freePort();
    const eventLog = join(dir, 'events.jsonl');
    const startedAt = performance.now();
    // awd's log goes to /dev/null: formatting it is part of the cost measured, reading it is not.
    const awd = spawn(process.execPath, [AWD_BIN, '--config', conf, '--event-log', eventLog, '--http', `127.0.0.1:${httpPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(awd);
    let stderr = '';
    awd.stderr.on('data', (d) => { stderr += d; });
    await waitFor(async () => awd.exitCode === null && (await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false)), 20_000, `awd /healthz (${stderr})`);
    const startupMs = performance.now() - startedAt;

    // Guests: the big one beats every 50 ms until phase 2; each other one beats once per cycle.
    const sockets = [];
    for (let i = 0; i <= OTHERS; i++) {
      const s = connect(join(dir, `${i === 0 ? 'big' : `w${i}`}.sock`));
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise((done) => s.once('connect', done));
      sockets.push(s);
    }
    let running = true;
    const bigBeat = setInterval(() => sockets[0].write('x'), 50);
    const cycles = sockets.slice(1).map(async (s, i) => {
      await sleep((i * (timeoutMs + gapMs)) / OTHERS); // spread the deadlines over the cycle
      while (running) {
        s.write('x');
        await sleep(timeoutMs + gapMs);
      }
    });
    const statusMs = { baseline: [], big: [] };
    let phase = 'baseline';
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { ms } = await timedStatus(httpPort);
        statusMs[phase].push(ms);
        await sleep(50);
      }
    })();

    await sleep(baselineMs);
    const bigStopAt = Date.now();
    phase = 'big';
    clearInterval(bigBeat);
    const big = () => timedStatus(httpPort).then(({ body }) => body.watchdogs.find((w) => w.id === 'big'));
    await waitFor(async () => (await big()).timeouts > 0, 10_000, 'the big watchdog to fire');
    const bigFiredAt = Date.now();
    const cpu0 = { awd: cpuMs(awd.pid), qemu: cpuMs(qemu.pid) };
    const finished = await waitFor(async () => { const b = await big(); return b.notified + b.notifyFailed > 0; }, maxBigMs, 'the big notification').then(() => true, () => false);
    const bigEndAt = Date.now();
    const pct = (pid, before) => ((cpuMs(pid) - before) * 100) / Math.max(1, bigEndAt - bigFiredAt);
    const cpuDuring = { awd: pct(awd.pid, cpu0.awd), qemu: pct(qemu.pid, cpu0.qemu) };
    running = false;
    polling = false;
    await Promise.all(cycles);
    await poller;
    const bigWatchdog = await big();
    await stopChild(awd);

    const events = readFileSync(eventLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const late = { baseline: [], big: [] };
    for (const e of events) {
      if (e.event !== 'timeout' || e.watchdog === 'big') continue;
      const t = Date.parse(e.time);
      if (t < bigStopAt) late.baseline.push(e.lateMs);
      else if (t >= bigFiredAt && t <= bigEndAt) late.big.push(e.lateMs);
    }
    const notified = events.find((e) => e.watchdog === 'big' && (e.event === 'notified' || e.event === 'notify-failed'));
    return {
      raw: late,
      startupMs,
      baseline: summarize(late.baseline),
      during: summarize(late.big),
      statusBaseline: summarize(statusMs.baseline),
      statusDuring: summarize(statusMs.big),
      bigFinished: finished,
      awdCpuPct: cpuDuring.awd,
      qemuCpuPct: cpuDuring.qemu,
      bigMs: bigEndAt - bigFiredAt,
      bigCommands: notified?.commandCount ?? notified?.commands?.length ?? 0,
      bigOk: notified?.event === 'notified',
      bigState: bigWatchdog?.state?.kind,
    };
  } finally {
    for (const c of children) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Repeats the run; every figure per run plus the spread over runs. */
export async function runAwdIsolation({ runs = 3, baselineMs = 3000, maxBigMs = 20_000, timeoutMs = 100, gapMs = 400 } = {}) {
  if (spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return { error: 'qemu-system-x86_64 not found (apt-get install qemu-system-x86)', rows: [] };
  }
  const rows = [];
  const pooled = { baseline: [], big: [] };
  for (let i = 0; i < runs; i++) {
    console.error(`awd isolation: run ${i + 1}/${runs} (50 watchdogs, one with a 1 MB QMP script) …`);
    const load1 = loadavg()[0];
    const { raw, ...row } = await runOnce({ baselineMs, maxBigMs, timeoutMs, gapMs });
    pooled.baseline.push(...raw.baseline);
    pooled.big.push(...raw.big);
    rows.push({ run: i + 1, load1, ...row });
  }
  return { rows, pooledBaseline: summarize(pooled.baseline), pooledDuring: summarize(pooled.big), timeoutMs, gapMs, others: OTHERS, scriptBytes: SCRIPT_BYTES };
}
