// Issue 8 item 4c: guest-agent. The agent as a real process (pinned to CPU 0), provisioned by the VIM with
// 100 hosts and 10 000 instances. Then (1) VIM query throughput and latency: closed-loop workers over an
// undici Pool send I4 (GET /v1/instances/{uuid}) for random instances; (2) event delivery rate: as guest-
// servers, we post one `running` event per instance (batches of 100) and time their arrival as service
// events at the VIM listener (the agent's outbox: per-instance order, a few requests in flight, each a
// new connection with Content-Length as the real listener needs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { AGENT_BIN, freePort, log, scrape, spawnNode, stopChild, summarize, uuidOf, waitHealthy, waitUntil } from './lib/util.js';
import { eachLimited, vimPool } from './lib/vim-client.js';
import { startVimListener } from './lib/vim-listener.js';

const hostUuid = (h) => `c0000000-0000-4000-8000-${h.toString(16).padStart(12, '0')}`;
const hostName = (h) => `compute-${h}`;

export async function runAgent({ hosts = 100, instances = 10_000, seconds = 10, workers = 32 }) {
  const dir = mkdtempSync(join(tmpdir(), 'gab-'));
  const vim = await startVimListener();
  const ports = { rx: await freePort(), vim: await freePort() };
  writeFileSync(join(dir, 'agent.ini'), '[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 3600\n');
  const agent = spawnNode([AGENT_BIN, '--config', join(dir, 'agent.ini'), '--port', String(ports.rx), '--vim-cmd-port', String(ports.vim), '--vim-event-url', vim.url, '--log-level', 'warn'], { cpu: 0 });
  const client = vimPool(ports.vim, workers);
  const rx = new Pool(`http://127.0.0.1:${ports.rx}`, { connections: 4 });
  try {
    await waitHealthy(`http://127.0.0.1:${ports.rx}/healthz`, agent);
    const p0 = performance.now();
    for (let h = 0; h < hosts; h++) {
      await client.call('POST', `/v1/hosts/${hostUuid(h)}`, { uuid: hostUuid(h), hostname: hostName(h) });
      await client.call('PUT', `/v1/hosts/${hostUuid(h)}/enable`, { uuid: hostUuid(h), hostname: hostName(h) });
    }
    const all = Array.from({ length: instances }, (_, i) => ({ uuid: uuidOf(0x20000 + i), hostname: hostName(i % hosts) }));
    await eachLimited(all, workers, (inst) => client.call('POST', `/v1/instances/${inst.uuid}`, { uuid: inst.uuid, hostname: inst.hostname, services: ['heartbeat'] }));
    const provisionMs = performance.now() - p0;
    log(`agent: provisioned ${hosts} hosts and ${instances} instances in ${provisionMs.toFixed(0)} ms`);

    // (1) VIM queries, closed loop.
    const latencies = [];
    const until = performance.now() + seconds * 1000;
    let errors = 0;
    const q0 = performance.now();
    await Promise.all(Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        const inst = all[Math.floor(Math.random() * all.length)];
        const t = performance.now();
        try {
          await client.call('GET', `/v1/instances/${inst.uuid}`);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }));
    const queryWallMs = performance.now() - q0;
    const q = summarize(latencies);
    // Cross-check at the agent: the I4 requests it counted as answered 200.
    const counted = (await scrape(`http://127.0.0.1:${ports.rx}/metrics`)).get('guest_agent_vim_requests_total{route="I4",status="200"}') ?? 0;

    // (2) Event delivery: one running event per instance, posted as each host's server would.
    const before = vim.records.length;
    const e0 = performance.now();
    const batches = [];
    for (let i = 0; i < all.length; i += 100) batches.push(all.slice(i, i + 100));
    let seq = 0;
    await eachLimited(batches, 4, async (batch) => {
      const events = batch.map((inst) => ({
        kind: 'running', id: `bench-${++seq}`, hostname: inst.hostname, atMs: Date.now(),
        instance: {
          hostname: inst.hostname, uuid: inst.uuid, reporting: 'disabled', heartbeating: 'enabled', 'repair-action': 'reboot',
          'restart-to': '120', 'shutdown-to': '10', 'suspend-to': '10', 'resume-to': '10', 'vote-to': '10',
        },
      }));
      const res = await rx.request({ method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`POST /v1/events → ${res.statusCode}`);
    });
    const postedMs = performance.now() - e0;
    await waitUntil(() => vim.records.length - before >= instances, 300_000, `${instances} events at the VIM`, 50)
      .catch((err) => log(`agent: ${err.message} (${vim.records.length - before} seen)`));
    const delivered = vim.records.length - before;
    const lastAt = vim.records.at(-1)?.at ?? performance.now();
    const deliveryMs = lastAt - e0;
    return {
      hosts, instances, workers, provisionMs: Math.round(provisionMs),
      queries: latencies.length, queriesCountedByAgent: counted, queryErrors: errors, queriesPerSec: (latencies.length / queryWallMs) * 1000, queryP50Ms: q.p50, queryP99Ms: q.p99, queryMaxMs: q.max,
      eventsPosted: instances, eventsAcceptedMs: Math.round(postedMs), eventsDelivered: delivered, eventsPerSec: (delivered / deliveryMs) * 1000,
    };
  } finally {
    await client.close();
    await rx.close();
    await stopChild(agent);
    await vim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
