// Issue 17 item 1: what one heartbeat costs in each channel connector, without the rest of the server.
// An echo peer (pinned to CPU 1) answers every line on N UNIX connections; a client (pinned to CPU 0) opens
// them with `connectUnixChannel` (net.Socket) or the pipe-handle connector (dist/) and keeps each in lock
// step for a window: write a ~100-byte challenge frame, wait for its echo, write the next. CPU per round trip
// (user + system of the client process, and its main thread alone from /proc/self/task) is the connector's
// cost per heartbeat plus the two syscalls and the wake-up. Runs alternate stream / pipe-handle.
//   node bench/channel-io-cost.js [--channels=100] [--pairs=3] [--seconds=5]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeChallenge } from '@guesthb/protocol';
import { HAS_TASKSET, REPO } from './lib/util.js';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SELF = fileURLToPath(import.meta.url);
const CLK_TCK = 100;

function mainThreadMs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

if (process.argv.includes('--echo')) {
  // The peer: echo every byte back on every connection.
  const server = createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
  server.listen(process.argv.at(-1), () => process.send({ type: 'ready' }));
  process.on('message', () => process.exit(0));
} else if (process.argv.includes('--client')) {
  const [mode, path, channels, seconds] = process.argv.slice(-4);
  const { connectUnixChannel } = await import(join(REPO, 'packages/guest-server/dist/channel-connector.js'));
  const { pipeHandleConnector } = await import(join(REPO, 'packages/guest-server/dist/pipe-handle-channel.js'));
  const connect = mode === 'stream' ? connectUnixChannel : pipeHandleConnector();
  let trips = 0;
  let counting = false;
  let seq = 0;
  const sockets = [];
  await Promise.all(Array.from({ length: Number(channels) }, () => new Promise((ready) => {
    let pending = 0;
    const socket = connect(path, {
      onConnect: () => ready(),
      onData: (chunk) => {
        pending -= chunk.length;
        if (pending > 0) return;
        if (counting) trips++;
        const frame = encodeChallenge(++seq, seq * 7);
        pending = frame.length;
        socket.write(frame);
      },
      onClose: () => undefined,
    });
    sockets.push({ socket, start: () => { const f = encodeChallenge(++seq, 1); pending = f.length; socket.write(f); } });
  })));
  for (const s of sockets) s.start();
  await new Promise((r) => setTimeout(r, 500));      // warm-up
  counting = true;
  const c0 = process.cpuUsage();
  const m0 = mainThreadMs();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  const c1 = process.cpuUsage(c0);
  const m1 = mainThreadMs();
  const wallMs = performance.now() - t0;
  counting = false;
  for (const s of sockets) s.socket.destroy();
  process.send({ type: 'result', trips, cpuUs: c1.user + c1.system, userUs: c1.user, sysUs: c1.system, mainMs: m1 - m0, wallMs });
  process.disconnect();
} else {
  const channels = arg('channels', '100');
  const pairs = Number(arg('pairs', '3'));
  const seconds = arg('seconds', '5');
  const dir = mkdtempSync(join(tmpdir(), 'gsio-'));
  const path = join(dir, 'echo.sock');
  const pinned = (cpu) => (HAS_TASKSET ? { execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath] } : {});
  const echo = fork(SELF, ['--echo', path], { ...pinned(1), stdio: 'ignore' });
  await new Promise((r) => echo.once('message', r));
  const rows = [];
  for (let pair = 1; pair <= pairs; pair++) {
    for (const mode of pair % 2 === 1 ? ['stream', 'pipe-handle'] : ['pipe-handle', 'stream']) {
      const load = loadavg()[0];
      const client = fork(SELF, ['--client', mode, path, channels, seconds], { ...pinned(0), stdio: 'ignore' });
      const r = await new Promise((resolve) => client.on('message', (m) => m.type === 'result' && resolve(m)));
      await new Promise((done) => (client.exitCode !== null ? done() : client.once('exit', done)));
      const row = { pair, mode, load, ...r, usPerTrip: r.cpuUs / r.trips, userUsPerTrip: r.userUs / r.trips, sysUsPerTrip: r.sysUs / r.trips, mainUsPerTrip: (r.mainMs * 1000) / r.trips, tripsPerS: (r.trips * 1000) / r.wallMs };
      rows.push(row);
      console.log(`pair ${pair} ${mode.padEnd(11)} ${row.tripsPerS.toFixed(0).padStart(6)} round trips/s  CPU ${row.usPerTrip.toFixed(2)} µs per round trip (user ${row.userUsPerTrip.toFixed(2)}, sys ${row.sysUsPerTrip.toFixed(2)}; main thread ${row.mainUsPerTrip.toFixed(2)})  load ${load.toFixed(1)}`);
    }
  }
  echo.send('stop');
  rmSync(dir, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['stream', 'pipe-handle']) {
    const of = rows.filter((r) => r.mode === mode);
    console.log(`${mode.padEnd(11)} median: ${median(of.map((r) => r.usPerTrip)).toFixed(2)} µs CPU per round trip (user ${median(of.map((r) => r.userUsPerTrip)).toFixed(2)}, sys ${median(of.map((r) => r.sysUsPerTrip)).toFixed(2)}, main thread ${median(of.map((r) => r.mainUsPerTrip)).toFixed(2)}), ${channels} channels, ${pairs} runs of ${seconds} s`);
  }
}
