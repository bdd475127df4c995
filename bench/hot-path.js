// Issue 17: the cost of one heartbeat in guest-server's own code, independent of the machine's load. N
// InstanceSessions (dist/) with the real metrics (prom-client) and a silent pino, over an in-memory channel
// and a lock-step clock: per round every session's timer fires (challenge), then every guest answers
// (response). Measured over R rounds in a child with a young generation large enough that no GC runs:
// heap bytes allocated per heartbeat (challenge + response) and CPU µs per heartbeat (process.cpuUsage; no
// syscalls, so this is the JS share only). `node bench/hot-path.js` prints one JSON line.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO } from './lib/util.js';

const SELF = fileURLToPath(import.meta.url);
const FLAGS = ['--expose-gc', '--max-semi-space-size=1024', '--min-semi-space-size=1024'];

/** Runs the measurement in a child with FLAGS; resolves to its report. */
export function runHotPath({ sessions = 2000, rounds = 40, repeats = 5 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--child', String(sessions), String(rounds), String(repeats)], { execArgv: FLAGS, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`hot-path child exited ${code}`))));
  });
}

/** Timers of a lock-step run: every due timer fires in advance(), in insertion order; O(timers) per round. */
class StepClock {
  #now = 1_000;
  #timers = [];
  now() { return this.#now; }
  setTimeout(fn, delayMs) {
    const t = { at: this.#now + Math.max(0, delayMs), fn, live: true };
    this.#timers.push(t);
    return t;
  }
  clearTimeout(t) { if (t !== undefined) t.live = false; }
  advance(ms) {
    this.#now += ms;
    const due = this.#timers;
    this.#timers = [];
    for (const t of due) {
      if (!t.live) continue;
      if (t.at <= this.#now) t.fn();
      else this.#timers.push(t);
    }
  }
}

async function child(sessions, rounds, repeats) {
  const { InstanceSession } = await import(`${REPO}/packages/guest-server/dist/instance-session.js`);
  const { ServerMetrics } = await import(`${REPO}/packages/guest-server/dist/metrics.js`);
  const { DeadlineTimers } = await import(`${REPO}/packages/protocol/dist/index.js`);
  const { pino } = await import('pino');
  const clock = new StepClock();
  // As in the server: every session's timer behind one clock timer (protocol deadline-timers.ts).
  const timers = new DeadlineTimers(clock);
  const metrics = new ServerMetrics(() => new Map());
  const log = pino({ level: 'warn' }, { write: () => undefined });
  // The challenge value is injected (as the real server injects its random source): a constant here, so the
  // guests' answers are preencoded and the driver allocates nothing per heartbeat.
  const policy = {
    failureThreshold: 1, pulsePeriodMs: 400, maxIntervalMs: 3_600_000, hostReporting: true, reconnectIdleMs: 120_000,
    voteGraceMs: 1_000, illHealthRepeatMs: 60_000, nextChallenge: () => 123_456,
  };
  const INIT = Buffer.from('\n{"version":3,"revision":1,"msg_type":"init","sequence":0,"invocation_id":1,"name":"bench","heartbeat_interval_ms":400,"vote_secs":10,"shutdown_notice_secs":10,"suspend_notice_secs":10,"resume_notice_secs":10,"restart_secs":120,"corrective_action":"reboot"}\n');
  const RESPONSE = Buffer.from('\n{"version":3,"revision":1,"msg_type":"challenge_response","sequence":1,"heartbeat_response":123456,"heartbeat_health":"healthy","corrective_action":"none","log_msg":""}\n');
  const guests = [];
  let written = 0;
  for (let i = 0; i < sessions; i++) {
    const g = { handlers: undefined };
    const session = new InstanceSession({
      uuid: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, clock, log, policy: () => policy,
      connect: (_path, handlers) => {
        g.handlers = handlers;
        return { write: (data) => { written += data.length; return true; }, destroy: () => undefined };
      },
      metrics, onReport: () => undefined, onGone: () => undefined, timers,
    });
    session.channelFound(`/bench/cgcs.heartbeat.${i}.sock`);
    g.handlers.onConnect();
    g.handlers.onData(INIT);
    g.handlers.onData(RESPONSE);
    guests.push(g);
  }
  const round = () => {
    clock.advance(400);
    for (const g of guests) g.handlers.onData(RESPONSE);
  };
  for (let r = 0; r < 20; r++) round();   // warm-up: optimised code
  // BENCH_HEAP_PROFILE=<file>: an allocation profile of the measured rounds (garbage included) for DevTools.
  const profile = process.env.BENCH_HEAP_PROFILE;
  const inspector = profile === undefined ? undefined : new (await import('node:inspector')).Session();
  const post = (method, params) => new Promise((done, fail) => inspector.post(method, params, (err, res) => (err ? fail(err) : done(res))));
  if (inspector !== undefined) {
    inspector.connect();
    await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const bytes = [];
  const cpu = [];
  for (let k = 0; k < repeats; k++) {
    globalThis.gc();
    const heap0 = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) round();
    const c = process.cpuUsage(cpu0);
    const heap1 = process.memoryUsage().heapUsed;
    bytes.push((heap1 - heap0) / (sessions * rounds));
    cpu.push((c.user + c.system) / (sessions * rounds));
  }
  if (inspector !== undefined) {
    const { profile: p } = await post('HeapProfiler.stopSampling', {});
    (await import('node:fs')).writeFileSync(profile, JSON.stringify(p));
  }
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  const s = (xs) => ({ min: sorted(xs)[0], median: sorted(xs)[Math.floor(xs.length / 2)], max: sorted(xs).at(-1) });
  console.log(JSON.stringify({ sessions, rounds, repeats, bytesPerHeartbeat: s(bytes), cpuUsPerHeartbeat: s(cpu), bytesWritten: written }));
}

if (process.argv[2] === '--child') {
  await child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[1] === SELF) {
  console.log(JSON.stringify(await runHotPath()));
}
