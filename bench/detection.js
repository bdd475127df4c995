// Issue 8 item 4b: detection latency. guest-server (pinned to CPU 0) and guest-agent as real processes,
// the VIM listener and 200 guests here (one clock for both ends). The VIM provisions everything; once all
// heartbeat, each guest stops answering at a random moment inside a window (trials run in parallel). For
// each: time from the first challenge it leaves unanswered (and from the moment it stopped) to the failed
// alarm at the VIM listener. Bound: (hbs_failure_threshold + 1) × interval + 50 ms from the first unanswered
// challenge; one interval more from the moment it stopped.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeGuests, startGuests } from './lib/raw-guests.js';
import { AGENT_BIN, CPUS, SERVER_BIN, SHIPPED_NICE, SHIPPED_NODE_ARGS, freePort, log, sleep, spawnNode, stopChild, summarize, uuidOf, waitHealthy, waitUntil } from './lib/util.js';
import { eachLimited, vimPool } from './lib/vim-client.js';
import { eventOf, startVimListener } from './lib/vim-listener.js';

const HOST_UUID = 'a0000000-0000-4000-8000-000000000001';
const HOSTNAME = 'compute-b';
const THRESHOLD = 1;

export async function runDetection({ trials = 200, intervalMs = 400, windowMs = 20_000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'gdb-'));
  const channelDir = join(dir, 'ch');
  mkdirSync(channelDir);
  const vim = await startVimListener();
  const ports = { rx: await freePort(), vim: await freePort(), server: await freePort() };
  writeFileSync(join(dir, 'agent.ini'), '[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 10\n');
  writeFileSync(join(dir, 'server.ini'), `[client]\nbind_address = 127.0.0.1\nhbs_failure_threshold = ${THRESHOLD}\nhbs_pulse_period = ${Math.min(400, intervalMs)}\nadvertise_url = http://127.0.0.1:${ports.server}\n`);
  const cpuOther = CPUS > 1 ? 1 : undefined;
  const agent = spawnNode([AGENT_BIN, '--config', join(dir, 'agent.ini'), '--port', String(ports.rx), '--vim-cmd-port', String(ports.vim), '--vim-event-url', vim.url, '--log-level', 'warn'], { cpu: cpuOther });
  const server = spawnNode([...SHIPPED_NODE_ARGS, SERVER_BIN, '--config', join(dir, 'server.ini'), '--state-dir', join(dir, 'state'), '--channel-dir', channelDir, '--agent-url', `http://127.0.0.1:${ports.rx}`, '--port', String(ports.server), '--hostname', HOSTNAME, '--log-level', 'warn'], { cpu: 0, nice: SHIPPED_NICE });
  const client = vimPool(ports.vim, 8);
  const uuids = Array.from({ length: trials }, (_, i) => uuidOf(0x10000 + i));
  const stoppedAt = new Map();
  const firstUnanswered = new Map();
  let guests = [];
  try {
    await waitHealthy(`http://127.0.0.1:${ports.rx}/healthz`, agent);
    await waitHealthy(`http://127.0.0.1:${ports.server}/healthz`, server);
    await client.call('POST', `/v1/hosts/${HOST_UUID}`, { uuid: HOST_UUID, hostname: HOSTNAME });
    await client.call('PUT', `/v1/hosts/${HOST_UUID}/enable`, { uuid: HOST_UUID, hostname: HOSTNAME });
    await eachLimited(uuids, 8, async (uuid) => {
      await client.call('POST', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: ['heartbeat'] });
      await client.call('PATCH', `/v1/instances/${uuid}`, { uuid, hostname: HOSTNAME, services: [{ service: 'heartbeat', state: 'enabled' }] });
    });
    guests = await startGuests({
      dir: channelDir, uuids, intervalMs,
      onChallenge: (g, now) => {
        if (!stoppedAt.has(g.uuid)) return true;
        if (!firstUnanswered.has(g.uuid)) firstUnanswered.set(g.uuid, now);
        return false;
      },
    });
    const enabled = new Set();
    await waitUntil(() => {
      for (const r of vim.records) { const e = eventOf(r); if (e.type === 'service' && e.status === 'enabled') enabled.add(e.uuid); }
      return enabled.size === trials;
    }, 60_000, `the VIM hearing ${trials} guests enabled`, 100);
    await sleep(2 * intervalMs);
    // Each guest stops at its own random moment in the window.
    const t0 = performance.now();
    for (const g of guests) {
      const at = Math.random() * windowMs;
      setTimeout(() => stoppedAt.set(g.uuid, performance.now()), at);
    }
    await sleep(windowMs);
    const alarms = new Map();
    await waitUntil(() => {
      for (const r of vim.records) { const e = eventOf(r); if (e.type === 'alarm' && e.state === 'failed' && !alarms.has(e.uuid)) alarms.set(e.uuid, r.at); }
      return alarms.size === trials;
    }, (THRESHOLD + 3) * intervalMs + 10_000, `${trials} failed alarms`, 20).catch((err) => log(`detection: ${err.message} (${alarms.size} seen)`));
    const fromChallenge = [];
    const fromStop = [];
    for (const uuid of uuids) {
      const alarm = alarms.get(uuid);
      if (alarm === undefined) continue;
      fromChallenge.push(alarm - firstUnanswered.get(uuid));
      fromStop.push(alarm - stoppedAt.get(uuid));
    }
    const bound = (THRESHOLD + 1) * intervalMs;
    const a = summarize(fromChallenge);
    const b = summarize(fromStop);
    return {
      trials, intervalMs, threshold: THRESHOLD, detected: alarms.size, windowMs: Math.round(performance.now() - t0),
      boundMs: bound, p50Ms: a.p50, p99Ms: a.p99, maxMs: a.max, fromStopP50Ms: b.p50, fromStopP99Ms: b.p99, fromStopBoundMs: bound + intervalMs + 50,
    };
  } finally {
    await closeGuests(guests);
    await client.close();
    await stopChild(server);
    await stopChild(agent);
    await vim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
