// The simulated guests of the scale benchmark, in their own process (issue 8 item 4a). Driven over IPC:
// {cmd:'start', dir, first, count, intervalMs} → 'ready'; 'status' → counts; 'measure' starts recording
// challenge intervals; 'report' → {jitter summary, intervals}; 'stop' closes everything.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startGuests, closeGuests } from './lib/raw-guests.js';
import { summarize, uuidOf } from './lib/util.js';

let guests = [];
let measuring = false;
let intervalMs = 1000;
const last = new Map();
const jitter = [];
// This process's own event-loop stalls while measuring: a jitter tail that is the load generator's, not the
// server's, shows here (the report carries the longest stall in ms).
// The histogram records the whole interval between its timer's runs: a stall is what exceeds the resolution.
const LOOP_RESOLUTION_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    intervalMs = msg.intervalMs;
    const uuids = Array.from({ length: msg.count }, (_, i) => uuidOf(msg.first + i));
    guests = await startGuests({
      dir: msg.dir, uuids, intervalMs,
      onChallenge: (g, now) => {
        if (measuring) {
          const prev = last.get(g.index);
          if (prev !== undefined) jitter.push(Math.abs(now - prev - intervalMs));
        }
        last.set(g.index, now);
        return true;
      },
    });
    process.send({ type: 'ready' });
  } else if (msg.cmd === 'status') {
    process.send({ type: 'status', heartbeating: guests.filter((g) => g.challenges >= 2).length, connected: guests.filter((g) => g.socket !== undefined).length });
  } else if (msg.cmd === 'measure') {
    last.clear();
    jitter.length = 0;
    loopDelay.reset();
    loopDelay.enable();
    measuring = true;
    process.send({ type: 'measure' });
  } else if (msg.cmd === 'report') {
    measuring = false;
    loopDelay.disable();
    // With `samples` (several guest processes in one run) the raw figures go along, so the p99 is over all guests.
    process.send({ type: 'report', jitter: { ...summarize(jitter), ...(msg.samples ? { samples: jitter } : {}) }, reconnects: guests.reduce((n, g) => n + g.connections - 1, 0), loopStallMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS) });
  } else if (msg.cmd === 'stop') {
    await closeGuests(guests);
    process.exit(0);
  }
});
