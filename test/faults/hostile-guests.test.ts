/**
 * Issue 8 item 2: hostile or odd byte streams from a guest, against the real guest-server process. A guest
 * flooding garbage at full speed: the other guests keep their heartbeat timing and the server's memory
 * stays bounded. Oversized lines (with and without a newline for megabytes) are discarded and the valid
 * messages after them still decoded. Messages written one byte at a time (a cut at every byte boundary)
 * keep a guest heartbeating without a single miss.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { RawGuest, intervalsOf } from './helpers/raw-guest.js';
import { Stack, rssKb, uuidOf } from './helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL_MS = 400;

async function rawGuest(stack: Stack, index: number, bytewiseGapMs?: number, intervalMs = INTERVAL_MS): Promise<RawGuest> {
  const guest = new RawGuest({ dir: stack.channelDir, uuid: uuidOf(index), intervalMs, ...(bytewiseGapMs === undefined ? {} : { bytewiseGapMs }) });
  onTestFinished(() => guest.close());
  await guest.start();
  return guest;
}

/** Samples `sample` every 100 ms while `run` runs; returns the samples in order. */
async function sampleWhile(sample: () => Promise<number>, run: Promise<void>): Promise<number[]> {
  const samples = [await sample()];
  let done = false;
  const finished = run.finally(() => { done = true; });
  while (!done) {
    await new Promise((tick) => setTimeout(tick, 100));
    samples.push(await sample().catch(() => samples.at(-1) ?? 0));
  }
  await finished;
  return samples;
}

describe('hostile guests', () => {
  it('a garbage flood at full speed: others keep their timing, server memory stays bounded', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    const server = await stack.startServer();
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => rawGuest(stack, 0x500 + i)));
    const flooder = await rawGuest(stack, 0x5ff);
    await waitFor(() => [...others, flooder].every((g) => g.challengeTimes.length >= 3), 15_000, 'all heartbeating', () => stack.report());
    const rssBefore = await rssKb(server.pid);
    const from = others.map((g) => g.challengeTimes.length);

    // Garbage lines (not JSON, NUL and 0xff bytes, bare newlines) as fast as the socket takes them, for 8 s;
    // the flooder reads nothing back, so any nack the server writes to it piles up at the server's side.
    const line = Buffer.from('\n{this is not json\u0000\u00ff}\n{"version":3,"msg_type":"bogus"}\n\n', 'latin1');
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(65_536 / line.length) }, () => line));
    let bytes = 0;
    const flood = new Promise<void>((resolve) => {
      const until = performance.now() + Number(process.env['GUESTHB_FAULT_FLOOD_MS'] ?? 8_000);
      const pump = (): void => {
        const socket = flooder.socket;
        if (socket === undefined || performance.now() > until) {
          resolve();
          return;
        }
        socket.pause();   // never read: nacks back to us are never drained
        while (performance.now() <= until) {
          bytes += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        resolve();
      };
      pump();
    });
    const samples = await sampleWhile(() => rssKb(server.pid), flood);
    expect(server.running).toBe(true);
    // The flooder is held to its budget (issue 11 item 4): reading pauses, so its writes block.
    expect(bytes).toBeGreaterThan(1024 * 1024);
    expect((await stack.serverMetrics()).get('guest_server_guest_budget_drops_total') ?? 0, 'budget drops').toBeGreaterThan(0);
    // Bounded: RSS rises by the garbage collector's slack (~80 MB here) and then stays flat, however long
    // the flood; unbounded nack queueing grew it ~25 MB per second (120 MB in 5 s, so ~100 MB more in the second half) before the fix.
    const half = Math.floor(samples.length / 2);
    const firstPeak = Math.max(...samples.slice(0, half));
    const secondPeak = Math.max(...samples.slice(half));
    const what = `RSS ${rssBefore} kB → ${firstPeak} (first half) → ${secondPeak} (second half) after ${bytes} bytes`;
    expect(Math.max(firstPeak, secondPeak) - rssBefore, what).toBeLessThan(192 * 1024);
    expect(secondPeak - firstPeak, what).toBeLessThan(48 * 1024);

    // The others kept their timing: every challenge gap during the flood within a generous bound.
    for (const [i, g] of others.entries()) {
      const gaps = intervalsOf(g.challengeTimes.slice((from[i] ?? 1) - 1));
      expect(gaps.length, g.uuid).toBeGreaterThanOrEqual(10);
      // Generous (a busy CI machine shares 2 cores with other suites); the tight figure is in bench/. Before
      // the read-yield fix a flood delayed other guests' challenges by ~150 ms at once on an idle machine.
      expect(Math.max(...gaps), `${g.uuid} gaps ${gaps.map((x) => x.toFixed(0)).join(' ')}`).toBeLessThan(INTERVAL_MS + 250);
    }
    const m = await stack.serverMetrics();
    expect(m.get('guest_server_misses_total') ?? 0, 'misses (the flooder answers nothing it cannot read)').toBeLessThanOrEqual(2);
  }, 90_000);

  it('oversized lines are discarded and the next valid message is still decoded', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    const server = await stack.startServer();
    const guest = await rawGuest(stack, 0x600);
    await waitFor(() => guest.challengeTimes.length >= 2, 15_000, 'heartbeating', () => stack.report());
    const rssBefore = await rssKb(server.pid);
    // Between two responses: a 2 kB line, then 48 MB without a newline, then a newline.
    guest.writeRaw(`\n{"version":3,"revision":1,"msg_type":"exit","sequence":0,"log_msg":"${'x'.repeat(2_000)}"}\n`);
    const block = Buffer.alloc(1024 * 1024, 'y');
    for (let i = 0; i < 48; i++) guest.writeRaw(block);
    guest.writeRaw('\n');
    const seen = guest.challengeTimes.length;
    await waitFor(() => guest.challengeTimes.length >= seen + 5, 15_000, 'heartbeating after the oversized lines', () => stack.report());
    const m = await stack.serverMetrics();
    expect(m.get('guest_server_losses_total') ?? 0).toBe(0);
    expect(m.get('guest_server_misses_total') ?? 0).toBe(0);
    expect(guest.connections).toBe(1);
    // Not kept: RSS grows by allocator slack (~25 MB here), well under the 48 MB the line would take.
    const grownKb = (await rssKb(server.pid)) - rssBefore;
    expect(grownKb, `RSS grew ${grownKb} kB`).toBeLessThan(44 * 1024);
  }, 60_000);

  it('messages cut at every byte boundary keep a guest heartbeating without a miss', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    await stack.startServer();
    // ~170 one-byte writes at least 1 ms apart: 190 ms unloaded, up to ~500 ms when the test files run in
    // parallel on two CPUs. A 1 s interval keeps the whole answer inside its window however busy the machine
    // is, so a miss here means the server lost a cut message, not that the guest was slow (at 400 ms this
    // failed in 5 of 24 runs, four at a time, with the code before and after the third session of 2026-12-05).
    const guest = await rawGuest(stack, 0x700, 1, 1_000);
    await waitFor(() => guest.challengeTimes.length >= 8, 30_000, 'eight challenges answered byte by byte', () => stack.report());
    expect(guest.initAcks).toBe(1);
    const m = await stack.serverMetrics();
    expect(m.get('guest_server_misses_total') ?? 0).toBe(0);
    expect(m.get('guest_server_challenge_mismatches_total') ?? 0).toBe(0);
    expect(m.get('guest_server_nacks_total') ?? 0).toBe(0);
    expect(m.get('guest_server_responses_total') ?? 0).toBeGreaterThanOrEqual(7);
  }, 60_000);
});
