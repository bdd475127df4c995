// `npm run bench -- --only=faults` (issue 12 item 10): randomized fault trials against real guest-agent and
// guest-server processes (bench/faults-stack.js), seeded (BENCH_FAULT_SEED replays a run), each bounded in time:
//  - agent-kill: the agent is killed (kill -9) at a random moment after it accepted a loss, the VIM down;
//    restarted (its journal), then the VIM comes back;
//  - vim-outage: the VIM goes down, a guest hangs at a random moment, the VIM comes back after 1–4 s;
//  - vote-restart: a vote in flight when the agent is killed (the guest answers "reject");
//  - delete-race: the VIM deletes 3 instances and their guests quit at once (QEMU exits);
//  - flood: the VIM down, one loss among 10 000 running/stopped events of 100 flapping instances;
// plus one VIM outage of 6 minutes (--quick: 30 s) with a loss in its first minute, on a second stack.
// Counts: lost alarms (a hung guest whose failed alarm never reached the VIM, or with another action than
// the guest's), duplicate alarms, lost vote results, zombies (a deleted instance the agent answers for
// again), and recovery → delivery (from the VIM back, or the agent back, to the event at the VIM).
import { FaultStack, HOSTNAME, vimEventOf } from './faults-stack.js';
import { sleep, summarize, uuidOf, waitUntil } from './lib/util.js';

const ACTIONS = ['reboot', 'stop', 'log'];

function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const failedAlarmsOf = (stack, uuid) => stack.vim.records.filter((r) => { const e = vimEventOf(r); return e.type === 'alarm' && e.state === 'failed' && e.uuid === uuid; });

/** Waits for the failed alarm of `uuid`; returns its arrival time or undefined (lost). */
async function alarmAt(stack, uuid, timeoutMs = 15_000) {
  try {
    await waitUntil(() => failedAlarmsOf(stack, uuid).length > 0, timeoutMs, `alarm ${uuid}`, 10);
    return failedAlarmsOf(stack, uuid)[0].at;
  } catch {
    return undefined;
  }
}

async function lossAccepted(stack, before) {
  await waitUntil(async () => (await stack.agentMetric('guest_agent_server_events_total{kind="loss",outcome="new"}')) > before, 15_000, 'the agent accepting the loss', 20);
}

let next = 0x100;
const newUuid = () => uuidOf(next++);

async function agentKillTrial(stack, random, out) {
  const uuid = newUuid();
  const action = ACTIONS[Math.floor(random() * ACTIONS.length)];
  const guest = await stack.guest(uuid, { action });
  const losses = await stack.agentMetric('guest_agent_server_events_total{kind="loss",outcome="new"}');
  await stack.vim.down();
  guest.stopAnswering();
  await lossAccepted(stack, losses);
  await sleep(Math.floor(random() * 500));
  await stack.killAgent();
  await stack.startAgent();
  const upAt = performance.now();
  await stack.vim.up();
  out.expect(uuid, action);
  const at = await alarmAt(stack, uuid);
  if (at !== undefined) out.latency.push(at - upAt);
  await stack.dropGuest(guest, uuid);
}

async function vimOutageTrial(stack, random, out) {
  const uuid = newUuid();
  const action = ACTIONS[Math.floor(random() * ACTIONS.length)];
  const guest = await stack.guest(uuid, { action });
  const losses = await stack.agentMetric('guest_agent_server_events_total{kind="loss",outcome="new"}');
  await stack.vim.down();
  const outageMs = 1_000 + Math.floor(random() * 3_000);
  const downAt = performance.now();
  await sleep(Math.floor(random() * outageMs * 0.5));
  guest.stopAnswering();
  await lossAccepted(stack, losses);
  await sleep(Math.max(0, outageMs - (performance.now() - downAt)));
  const upAt = performance.now();
  await stack.vim.up();
  out.expect(uuid, action);
  const at = await alarmAt(stack, uuid);
  if (at !== undefined) out.latency.push(at - upAt);
  await stack.dropGuest(guest, uuid);
}

async function voteRestartTrial(stack, random, out) {
  const uuid = newUuid();
  const guest = await stack.guest(uuid, { vote: 'reject' });
  const reply = await stack.vimCall('POST', `/v1/instances/${uuid}/vote`, { uuid, hostname: HOSTNAME, action: 'stop' });
  if (reply.status !== 200) throw new Error(`I5 → ${reply.status}`);
  await sleep(Math.floor(random() * 200));
  await stack.killAgent();
  await stack.startAgent();
  const backAt = performance.now();
  const results = () => stack.vim.records.filter((r) => { const e = vimEventOf(r); return e.type === 'action' && e.uuid === uuid; });
  out.votes++;
  try {
    await waitUntil(() => results().length > 0, 15_000, 'the vote result', 10);
    const first = results()[0];
    if (vimEventOf(first).response !== 'reject') out.lostVotes++;
    out.voteLatency.push(Math.max(0, first.at - backAt));
  } catch {
    out.lostVotes++;
  }
  await stack.dropGuest(guest, uuid);
}

/**
 * kill -9 of guest-server 0–2.5 s after a guest hung, half the time with the agent dead too (restarted
 * 0–1 s after the server). The alarm must reach the VIM with the guest's action. Recovery → delivery is
 * counted when the loss was detected before the kill and not yet at the VIM when the daemons were back
 * (a kill before detection waits for the init deadline, 3 s here: detection, not delivery).
 */
async function serverKillTrial(stack, random, out) {
  const uuid = newUuid();
  const action = ACTIONS[Math.floor(random() * ACTIONS.length)];
  const guest = await stack.guest(uuid, { action });
  const agentDown = random() < 0.5;
  const lossesBefore = await stack.serverMetric('guest_server_losses_total');
  if (agentDown) await stack.killAgent();
  guest.stopAnswering();
  await sleep(Math.floor(random() * 2_500));
  const detected = (await stack.serverMetric('guest_server_losses_total')) > lossesBefore;
  await stack.killServer();
  await stack.startServer();
  if (agentDown) {
    await sleep(Math.floor(random() * 1_000));
    await stack.startAgent();
  }
  const backAt = performance.now();
  const atVimAlready = failedAlarmsOf(stack, uuid).length > 0;
  out.expect(uuid, action);
  const at = await alarmAt(stack, uuid, 20_000);
  if (at !== undefined && detected && !atVimAlready) out.latency.push(Math.max(0, at - backAt));
  await stack.dropGuest(guest, uuid);
}

async function deleteRaceTrial(stack, random, out) {
  const uuids = [newUuid(), newUuid(), newUuid()];
  const guests = [];
  for (const uuid of uuids) guests.push(await stack.guest(uuid));
  await Promise.all(uuids.map(async (uuid, i) => {
    await sleep(Math.floor(random() * 20));
    await stack.vimCall('DELETE', `/v1/instances/${uuid}`);
    stack.guests.delete(guests[i]);
    await guests[i].close();
  }));
  out.deleted += uuids.length;
  await sleep(2_500); // two audits of each side
  for (const uuid of uuids) if ((await stack.vimCall('GET', `/v1/instances/${uuid}`)).status !== 404) out.zombies++;
}

async function floodTrial(stack, random, out) {
  const hostUuid = 'c0000000-0000-4000-8000-0000000000ff';
  const hostname = `flood-${next}`;
  await stack.vimCall('POST', `/v1/hosts/${hostUuid}`, { uuid: hostUuid, hostname });
  await stack.vimCall('PUT', `/v1/hosts/${hostUuid}/enable`, { uuid: hostUuid, hostname });
  const uuids = Array.from({ length: 100 }, () => newUuid());
  for (const uuid of uuids) {
    await stack.vimCall('POST', `/v1/instances/${uuid}`, { uuid, hostname, services: ['heartbeat'] });
    await stack.vimCall('PATCH', `/v1/instances/${uuid}`, { uuid, hostname, services: [{ service: 'heartbeat', state: 'enabled' }] });
  }
  let id = 0;
  const post = async (events) => {
    const res = await fetch(`${stack.agentUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    if (res.status !== 200) throw new Error(`events → ${res.status}`);
    await res.arrayBuffer();
  };
  const ev = (kind, body) => ({ id: `flood-${next}-${++id}`, hostname, atMs: Date.now(), kind, ...body });
  const infoOf = (uuid, on) => ({
    hostname, uuid, reporting: 'enabled', heartbeating: on ? 'enabled' : 'disabled', 'repair-action': 'reboot',
    'restart-to': '60', 'shutdown-to': '10', 'suspend-to': '10', 'resume-to': '10', 'vote-to': '10',
  });
  await post([ev('server-ready', { url: 'http://127.0.0.1:9', bootId: `b${next}` })]);
  await stack.vim.down();
  const victim = uuids[Math.floor(random() * uuids.length)];
  const action = ACTIONS[Math.floor(random() * ACTIONS.length)];
  const lossBatch = Math.floor(random() * 100);
  for (let b = 0; b < 100; b++) {
    const events = uuids.map((uuid, i) => ((b + i) % 2 === 0 ? ev('running', { instance: infoOf(uuid, true) }) : ev('stopped', { instance: infoOf(uuid, false), reason: 'exit' })));
    if (b === lossBatch) events[0] = ev('loss', { uuid: victim, correctiveAction: action });
    await post(events);
  }
  out.floodDepth.push(await stack.agentMetric('guest_agent_outbox_depth'));
  const upAt = performance.now();
  await stack.vim.up();
  out.expect(victim, action);
  const at = await alarmAt(stack, victim);
  if (at !== undefined) out.latency.push(at - upAt);
  await waitUntil(async () => (await stack.agentMetric('guest_agent_outbox_depth')) === 0, 30_000, 'the flood drained', 50).catch(() => undefined);
  for (const uuid of uuids) await stack.vimCall('DELETE', `/v1/instances/${uuid}`);
}

const KINDS = [
  ['agent-kill', agentKillTrial, 4],
  ['vim-outage', vimOutageTrial, 4],
  ['vote-restart', voteRestartTrial, 2],
  ['server-kill', serverKillTrial, 3],
  ['delete-race', deleteRaceTrial, 1],
  ['flood', floodTrial, 1],
];

/** BENCH_FAULT_KINDS=flood,vote-restart runs only these kinds (replaying one). */
const ONLY = process.env['BENCH_FAULT_KINDS']?.split(',');
const ACTIVE = KINDS.filter(([name]) => ONLY === undefined || ONLY.includes(name));

function pick(random) {
  const total = ACTIVE.reduce((n, k) => n + k[2], 0);
  let x = random() * total;
  for (const kind of ACTIVE) {
    x -= kind[2];
    if (x < 0) return kind;
  }
  return ACTIVE[0];
}

/** The long outage: VIM down `outageMs`, a loss in its first minute; returns its figures. */
async function longOutage(outageMs, random) {
  const stack = await FaultStack.create('long');
  try {
    await stack.startAgent();
    await stack.startServer();
    const uuid = uuidOf(0xffff00);
    const guests = [];
    for (let i = 0; i < 3; i++) guests.push(await stack.guest(uuidOf(0xffff00 + i)));
    await stack.vim.down();
    const downAt = performance.now();
    await sleep(Math.floor(random() * Math.min(60_000, outageMs / 2)));
    guests[0].stopAnswering();
    await sleep(Math.max(0, outageMs - (performance.now() - downAt)));
    const upAt = performance.now();
    await stack.vim.up();
    const at = await alarmAt(stack, uuid, 20_000);
    await sleep(2_000);
    const alarms = failedAlarmsOf(stack, uuid);
    const dropped = [...(await (await import('./lib/util.js')).scrape(`${stack.agentUrl}/metrics`))].filter(([k, v]) => k.includes('dropped') && v > 0).length;
    return {
      outageMs, delivered: at !== undefined, deliveryMs: at === undefined ? NaN : at - upAt, alarms: alarms.length,
      repairAction: alarms[0] === undefined ? undefined : vimEventOf(alarms[0]).repairAction, dropped,
    };
  } finally {
    await stack.close();
  }
}

export async function runFaults({ trials = 100, quick = false, seed = Number(process.env['BENCH_FAULT_SEED'] ?? Date.now() % 1_000_000), longOutageMs } = {}) {
  const random = seededRandom(seed);
  const long = longOutage(longOutageMs ?? (quick ? 30_000 : 360_000), seededRandom(seed + 1));
  const stack = await FaultStack.create('trials');
  const expected = new Map();
  const out = {
    latency: [], voteLatency: [], floodDepth: [], votes: 0, lostVotes: 0, deleted: 0, zombies: 0, errors: [],
    expect: (uuid, action) => expected.set(uuid, action),
  };
  const perKind = new Map(KINDS.map(([name]) => [name, 0]));
  const startedAt = performance.now();
  try {
    await stack.startAgent();
    await stack.startServer();
    for (let t = 0; t < trials; t++) {
      const [name, trial] = pick(random);
      perKind.set(name, perKind.get(name) + 1);
      try {
        await trial(stack, random, out);
      } catch (err) {
        out.errors.push(`${name} #${t}: ${err.message}`);
        if (stack.agent?.exitCode !== null || stack.agent?.signalCode !== null) await stack.startAgent().catch(() => undefined);
        if (stack.server?.exitCode !== null || stack.server?.signalCode !== null) await stack.startServer().catch(() => undefined);
        await stack.vim.up().catch(() => undefined);
      }
      if ((t + 1) % 10 === 0) console.error(`faults: ${t + 1}/${trials} trials (${((performance.now() - startedAt) / 1000).toFixed(0)} s)`);
    }
    await sleep(2_000); // late duplicates
  } finally {
    await stack.close();
  }
  let lost = 0;
  let wrongAction = 0;
  let duplicates = 0;
  for (const [uuid, action] of expected) {
    const alarms = failedAlarmsOf(stack, uuid);
    if (alarms.length === 0) lost++;
    else if (vimEventOf(alarms[0]).repairAction !== action) wrongAction++;
    duplicates += Math.max(0, alarms.length - 1);
  }
  const recovery = summarize([...out.latency, ...out.voteLatency]);
  return {
    seed, trials, perKind: Object.fromEntries(perKind), alarmsExpected: expected.size, lostAlarms: lost + wrongAction, wrongAction, duplicates,
    votes: out.votes, lostVotes: out.lostVotes, deleted: out.deleted, zombies: out.zombies, floodDepthMax: Math.max(0, ...out.floodDepth),
    recoveryP50Ms: recovery.p50, recoveryP99Ms: recovery.p99, recoveryMaxMs: recovery.max, recoveryN: recovery.n,
    errors: out.errors, long: await long, seconds: (performance.now() - startedAt) / 1000,
  };
}
