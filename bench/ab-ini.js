// Issue 17: guest-server with two or more values of one [client] key, A/B interleaved in one build: by default
// `channel_io = stream` (net.Socket) against `pipe-handle` (libuv's pipe handle directly, item 1); also
// `--key=challenge_phases --values=0,64` (challenge phases, the 100-guest tail). Each pair runs every size once
// with each value, the order flipped every pair, so a burst of load on the shared machine hits one run, not
// one value. Per run: CPU % of the server and its split by thread (main thread
// user / system and wake-ups per second, V8's and libuv's other threads), jitter p99 at the guests and the
// server's own challenge lateness p99 (a tail the server did not cause shows in the first only), RSS, load average.
//   node bench/ab-ini.js [--key=channel_io] [--values=stream,pipe-handle] [--sizes=100,2000] [--pairs=3] [--seconds=20]
//                        [--warmup-ms=3000] (perf.js measures from 12000: after V8's start-up GCs)
//   node bench/ab-ini.js --key=node_args --values=+,--max-semi-space-size=16 …: node flags instead of a [client]
//                        key ('+' joins flags; '+' alone = as shipped)
import { loadavg } from 'node:os';
import { runScalePoint } from './scale.js';
import { SHIPPED_NODE_ARGS, log } from './lib/util.js';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const sizes = arg('sizes', '100,2000').split(',').map(Number);
const pairs = Number(arg('pairs', '3'));
const seconds = Number(arg('seconds', '20'));
const key = arg('key', 'channel_io');
const MODES = arg('values', 'stream,pipe-handle').split(',');
const warmupMs = Number(arg('warmup-ms', '3000'));

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const rows = [];
for (let pair = 1; pair <= pairs; pair++) {
  for (const guests of sizes) {
    for (const mode of pair % 2 === 1 ? MODES : [...MODES].reverse()) {
      const load = loadavg()[0];
      // --key=node_args: each value is node flags joined by '+', added after the shipped ones (the last of a flag wins).
      const nodeArgs = key === 'node_args' ? [...SHIPPED_NODE_ARGS, ...mode.split('+').filter(Boolean)] : SHIPPED_NODE_ARGS;
      const r = await runScalePoint({ guests, intervalMs: 400, seconds, warmupMs, nodeArgs, extraIni: key === 'node_args' ? '' : `${key} = ${mode}\n` });
      const row = { pair, guests, mode, load, loadEnd: loadavg()[0], ...r };
      rows.push(row);
      log(`pair ${pair} ${String(guests).padStart(5)} guests ${String(mode).padEnd(11)} CPU ${f(r.cpuPct)} % (main ${f(r.mainUserPct)} user + ${f(r.mainSysPct)} sys, ${f(r.mainSwitchesPerS, 0)} wake-ups/s; other threads ${f(r.otherThreadsPct)} %)`
        + ` jitter p99 ${f(r.jitterP99Ms)} ms (server-side lateness p99 ${f(r.latenessP99Ms)} ms), RSS ${f(r.rssMb, 0)} MB, false losses ${r.falseLosses}, load ${f(load, 1)}→${f(row.loadEnd, 1)}`);
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\nmedians over ${pairs} interleaved pairs, ${seconds} s windows, 400 ms interval, as shipped (${SHIPPED_NODE_ARGS.join(' ')})`);
console.log(`guests  ${key.padEnd(11).slice(0, 11)}  CPU %  main user  main sys  wake-ups/s  other threads  jitter p99 ms  late p99 ms  RSS MB  false losses  load`);
for (const guests of sizes) {
  for (const mode of MODES) {
    const of = rows.filter((r) => r.guests === guests && r.mode === mode);
    const m = (k) => median(of.map((r) => r[k]));
    console.log(`${String(guests).padStart(6)}  ${String(mode).padEnd(11)} ${f(m('cpuPct')).padStart(6)}  ${f(m('mainUserPct')).padStart(9)}  ${f(m('mainSysPct')).padStart(8)}  ${f(m('mainSwitchesPerS'), 0).padStart(10)}`
      + `  ${f(m('otherThreadsPct')).padStart(13)}  ${f(m('jitterP99Ms')).padStart(13)}  ${f(m('latenessP99Ms')).padStart(11)}  ${f(m('rssMb'), 0).padStart(6)}  ${String(of.reduce((n, r) => n + r.falseLosses, 0)).padStart(12)}  ${of.map((r) => f(r.load, 1)).join('/')}`);
  }
}
console.log(`CPU % per run: ${sizes.map((g) => MODES.map((mode) => `${g} ${mode}: ${rows.filter((r) => r.guests === g && r.mode === mode).map((r) => f(r.cpuPct)).join(', ')}`).join('; ')).join('; ')}`);
