// Lightweight protocol-v3 guests for the benchmarks: each listens on DIR/cgcs.heartbeat.<uuid>.sock as
// QEMU does, sends init when guest-server connects and echoes every challenge at once. Per guest it
// records challenge arrival times (performance.now()), so jitter is measured where the guest sees it.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const INIT_TAIL = '"vote_secs":10,"shutdown_notice_secs":10,"suspend_notice_secs":10,"resume_notice_secs":10,"restart_secs":120,"corrective_action":"reboot"}\n';

/**
 * Starts one guest per uuid; resolves when all listen. `onChallenge(guest, now)` is called for each
 * challenge and returns whether to answer it.
 */
const SPREAD_MS = Number(process.env.BENCH_GUEST_SPREAD_MS ?? 0);

export async function startGuests({ dir, uuids, intervalMs, onChallenge }) {
  const guests = uuids.map((uuid, index) => ({ uuid, index, socket: undefined, server: undefined, challenges: 0, connections: 0 }));
  await Promise.all(guests.map((g) => new Promise((resolve, reject) => {
    const path = join(dir, `cgcs.heartbeat.${g.uuid}.sock`);
    rmSync(path, { force: true });
    const server = createServer((socket) => {
      if (g.socket !== undefined) {
        socket.destroy();
        return;
      }
      g.socket = socket;
      g.connections++;
      let pending = '';
      socket.on('error', () => undefined);
      socket.on('close', () => { if (g.socket === socket) g.socket = undefined; });
      socket.on('data', (chunk) => {
        const now = performance.now();
        pending += chunk.toString('latin1');
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const at = line.indexOf('"heartbeat_challenge":');
          if (at < 0) continue;
          const value = Number.parseInt(line.slice(at + 22), 10);
          g.challenges++;
          if (!onChallenge(g, now)) continue;
          socket.write(`\n{"version":3,"revision":1,"msg_type":"challenge_response","sequence":1,"heartbeat_response":${value},"heartbeat_health":"healthy","corrective_action":"none","log_msg":""}\n`);
        }
      });
      const init = `\n{"version":3,"revision":1,"msg_type":"init","sequence":0,"invocation_id":${g.index + 1},"name":"bench-${g.index}","heartbeat_interval_ms":${intervalMs},${INIT_TAIL}`;
      // BENCH_GUEST_SPREAD_MS: the guests' inits spread evenly over that long, as VMs started at different
      // times would be (their challenge slots then do not fall together); 0 = all at once.
      const delayMs = SPREAD_MS > 0 ? (g.index * SPREAD_MS) / guests.length : 0;
      if (delayMs > 0) setTimeout(() => { if (!socket.destroyed) socket.write(init); }, delayMs);
      else socket.write(init);
    });
    server.maxConnections = 1;
    g.server = server;
    server.once('error', reject);
    server.listen(path, resolve);
  })));
  return guests;
}

export async function closeGuests(guests) {
  await Promise.all(guests.map((g) => new Promise((resolve) => {
    g.socket?.destroy();
    if (g.server === undefined) resolve();
    else g.server.close(() => resolve());
  })));
}
