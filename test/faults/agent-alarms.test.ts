/**
 * Issue 12, the guest-agent's side, over real processes (guest-agent and guest-server from dist, simulated
 * guests, the test VIM listener): seeded randomized trials, each bounded in time. The seed is printed;
 * GUESTHB_FAULT_SEED=<seed> replays a failure, GUESTHB_FAULT_TRIALS=<n> runs more trials.
 *  - the agent killed (kill -9) at a random moment after it accepted a loss, the VIM down: after the
 *    restart the VIM gets the alarm once, with the guest's own corrective action (the agent's journal);
 *  - a VIM outage longer than every timer of the agent (audit 1 s, backoff cap 1 s): the alarm reaches the
 *    VIM once, within 2 s of its return;
 *  - a vote in flight across a kill -9 of the agent: the guest's answer reaches the VIM;
 *  - the delete/quit race: deleted instances never come back;
 *  - an agent restarted without its journal: the level-triggered audit alarms the condition the server reports;
 *  - an outbox flood with the VIM down: one loss among 10 000 service events of 100 flapping instances
 *    (posted by a scripted guest-server on the peer API) reaches the VIM first, and each instance's
 *    latest state follows (coalesced, not 100 updates per instance).
 * Every trial asserts: every failed alarm reaches the VIM with the guest's action, none is duplicated,
 * no healthy guest is alarmed.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedGuest } from '@guesthb/guest-client';
import { HOST_UUID, HOSTNAME, Stack, isFailedAlarm, isVimEvent, uuidOf, uuidOfRecord } from './helpers/stack.js';
import { faultSeed, failedAlarms, repairActionOf, seededRandom, startAgentWithState, vimCall } from './helpers/agent-faults.js';
import { metricsOf } from './helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { FakeServer } from '../../packages/guest-agent/test/helpers/fake-server.js';
import { sleep, startFleet } from './helpers/fleet.js';

const SEED = faultSeed();
const TRIALS = Number(process.env['GUESTHB_FAULT_TRIALS'] ?? '2');
const random = seededRandom(SEED);
console.log(`agent-alarms fault trials: seed ${SEED} (GUESTHB_FAULT_SEED=${SEED} replays), ${TRIALS} trials per case`);

const agentMetric = async (stack: Stack, name: string): Promise<number> => (await metricsOf(`${stack.agentUrl}/metrics`)).get(name) ?? 0;

describe('guest-agent faults (issue 12)', () => {
  it('kill -9 of the agent after it accepted a loss, the VIM down: the alarm reaches the VIM after the restart, once, with the guest\'s action', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(2, 0x500 + 16 * trial, { serverState: false, voteSecs: 4 });
      const [victim] = guests;
      const victimUuid = uuids[0] ?? '';
      await stack.vim.down();
      victim?.stopAnswering();
      await waitFor(async () => (await agentMetric(stack, 'guest_agent_server_events_total{kind="loss",outcome="new"}')) === 1, 15_000, 'the agent accepting the loss', () => stack.report());
      const delayMs = Math.floor(random() * 600);
      await sleep(delayMs);
      await stack.agent?.kill9();
      await startAgentWithState(stack);
      const upAt = performance.now();
      await stack.vim.up();
      const alarm = await stack.vim.waitFor((r) => isFailedAlarm(r, victimUuid), 10_000);
      const deliveredMs = performance.now() - upAt;
      expect(repairActionOf(alarm), `trial ${trial} (kill ${delayMs} ms after the loss)`).toBe('reboot');
      await sleep(2_500); // two audits: nothing more may come
      const alarms = failedAlarms(stack.vim.records);
      expect([...alarms.keys()], `trial ${trial}`).toEqual([victimUuid]);
      expect(alarms.get(victimUuid), `trial ${trial}: one alarm`).toHaveLength(1);
      expect(deliveredMs, `trial ${trial}: recovery → delivery`).toBeLessThan(3_000);
      await stack.server?.stop();
      await stack.agent?.stop();
      for (const g of guests) await g.close();
    }
  }, 60_000 * Math.max(1, TRIALS));

  it('a VIM outage longer than every timer of the agent: the loss reaches the VIM once, within 2 s of its return', async () => {
    const { stack, uuids, guests } = await startFleet(3, 0x600, { serverState: false, voteSecs: 4 });
    await stack.vim.down();
    const outageMs = 6_000 + Math.floor(random() * 2_000);
    const lossAfterMs = Math.floor(random() * 2_000);
    await sleep(lossAfterMs);
    guests[1]?.stopAnswering();
    await waitFor(async () => (await agentMetric(stack, 'guest_agent_server_events_total{kind="loss",outcome="new"}')) === 1, 15_000, 'the loss at the agent', () => stack.report());
    await sleep(Math.max(0, outageMs - lossAfterMs));
    const upAt = performance.now();
    await stack.vim.up();
    // Failed once in CI (seed 949729, 2026-12-05) with the instances' service events delivered and no alarm
    // within 5 s; on a failure, say what the agent's VIM outbox and log held.
    const alarm = await stack.vim.waitFor((r) => isFailedAlarm(r, uuids[1]), 5_000).catch(async (err: unknown) => {
      const metrics = [...(await metricsOf(`${stack.agentUrl}/metrics`))].filter(([k]) => /vim|outbox/.test(k)).map(([k, v]) => `${k} ${v}`).join('\n');
      throw new Error(`${String(err)}\n--- agent VIM/outbox metrics ---\n${metrics}\n${stack.report()}`);
    });
    expect(performance.now() - upAt).toBeLessThan(2_000);
    expect(repairActionOf(alarm)).toBe('reboot');
    await sleep(2_500);
    expect([...failedAlarms(stack.vim.records).entries()].map(([u, list]) => [u, list.length])).toEqual([[uuids[1], 1]]);
    // Nothing the VIM must act on was dropped or expired.
    for (const [key, value] of await metricsOf(`${stack.agentUrl}/metrics`)) if (key.includes('dropped')) expect(value, key).toBe(0);
  }, 60_000);

  it('a vote in flight across a kill -9 of the agent: the guest\'s answer reaches the VIM', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(1, 0x700 + 16 * trial, { serverState: false, voteSecs: 4, vote: 'reject' });
      const uuid = uuids[0] ?? '';
      const reply = await vimCall(stack.ports.vim, 'POST', `/v1/instances/${uuid}/vote`, { uuid, hostname: HOSTNAME, action: 'stop' });
      expect(reply.status).toBe(200);
      await sleep(Math.floor(random() * 200));
      await stack.agent?.kill9();
      await startAgentWithState(stack);
      const action = await stack.vim.waitFor((r) => isVimEvent(r, 'action', uuid), 15_000);
      expect((action.json as { 'event-data': { 'guest-response': string } })['event-data']['guest-response']).toBe('reject');
      await sleep(1_500);
      expect(stack.vim.records.filter((r) => isVimEvent(r, 'action') && uuidOfRecord(r) === uuid).length, `trial ${trial}`).toBeLessThanOrEqual(2);
      await stack.server?.stop();
      await stack.agent?.stop();
      for (const g of guests) await g.close();
    }
  }, 60_000 * Math.max(1, TRIALS));

  it('delete/quit race: deleted instances whose guests quit at once never come back', async () => {
    const { stack, uuids, guests } = await startFleet(6, 0x800, { serverState: false, voteSecs: 4 });
    stack.vim.hostInstances.set(HOST_UUID, []); // the VIM forgets them as it deletes them
    await Promise.all(uuids.map(async (uuid, i) => {
      const deleted = await vimCall(stack.ports.vim, 'DELETE', `/v1/instances/${uuid}`);
      expect(deleted.status).toBe(204);
      await guests[i]?.close(); // QEMU quits right after the VIM's delete
    }));
    const deletedAt = stack.vim.records.length;
    await sleep(3_500); // three agent and server audits
    for (const uuid of uuids) expect((await vimCall(stack.ports.vim, 'GET', `/v1/instances/${uuid}`)).status, uuid).toBe(404);
    expect(await agentMetric(stack, 'guest_agent_instances')).toBe(0);
    const listed = await (await fetch(`${stack.serverUrl}/v1/instances`)).json() as { instances: { uuid: string }[] };
    expect(listed.instances).toEqual([]);
    // No event of a deleted instance reached the VIM after its delete (the listener would re-learn it).
    expect(stack.vim.records.slice(deletedAt).filter((r) => r.method === 'PATCH').map((r) => uuidOfRecord(r))).toEqual([]);
  }, 60_000);

  it('outbox flood: one loss among 10 000 service events of 100 flapping instances, the VIM down', async () => {
    const stack = await Stack.create({ auditSecs: 60 });
    await startAgentWithState(stack, { auditSecs: 60 });
    const poster = new FakeServer('compute-9');
    await poster.start();
    onTestFinished(() => poster.close());
    const hostUuid = '99999999-9999-4999-8999-999999999999';
    await vimCall(stack.ports.vim, 'POST', `/v1/hosts/${hostUuid}`, { uuid: hostUuid, hostname: 'compute-9' });
    await vimCall(stack.ports.vim, 'PUT', `/v1/hosts/${hostUuid}/enable`, { uuid: hostUuid, hostname: 'compute-9' });
    const uuids = Array.from({ length: 100 }, (_, i) => uuidOf(0x900 + i));
    for (const uuid of uuids) {
      await vimCall(stack.ports.vim, 'POST', `/v1/instances/${uuid}`, { uuid, hostname: 'compute-9', services: ['heartbeat'] });
      await vimCall(stack.ports.vim, 'PATCH', `/v1/instances/${uuid}`, { uuid, hostname: 'compute-9', services: [{ service: 'heartbeat', state: 'enabled' }] });
    }
    expect((await poster.post(stack.agentUrl, [poster.ready()])).status).toBe(200);
    await stack.vim.down();
    const victim = uuids[Math.floor(random() * uuids.length)] ?? '';
    const lossBatch = Math.floor(random() * 100);
    for (let b = 0; b < 100; b++) {
      const events = uuids.map((uuid, i) => {
        const on = (b + i) % 2 === 0;
        const instance = poster.info(uuid, { reporting: 'enabled', heartbeating: on ? 'enabled' : 'disabled' });
        poster.instances.set(uuid, instance); // what its GET /v1/instances answers the agent's audit
        return on ? poster.event('running', { instance }) : poster.event('stopped', { instance, reason: 'exit' });
      });
      // The loss comes just before the batch, on its own (a batch holds at most 100 events), so the victim's
      // flaps of this batch coalesce behind it. It used to replace events[0]: with lossBatch 99 (1 seed in
      // 100, e.g. GUESTHB_FAULT_SEED=37 with -t flood) instance …0900's last state was never posted, and the
      // last check failed unless the agent's one audit (2 s after its start, then every 60 s) ran after the flood.
      if (b === lossBatch) expect((await poster.post(stack.agentUrl, [poster.event('loss', { uuid: victim, correctiveAction: 'reboot' })])).status).toBe(200);
      expect((await poster.post(stack.agentUrl, events)).status).toBe(200);
    }
    // Coalesced: about one entry per instance (plus those caught in a send when their newer state came), not 100.
    const depth = await agentMetric(stack, 'guest_agent_outbox_depth');
    expect(depth).toBeLessThanOrEqual(2 * 100 + 1);
    const from = stack.vim.records.length;
    await stack.vim.up();
    await stack.vim.waitFor((r) => isFailedAlarm(r, victim), 10_000);
    await waitFor(async () => (await agentMetric(stack, 'guest_agent_outbox_depth')) === 0, 20_000, 'the outbox drained', () => stack.report());
    const after = stack.vim.records.slice(from).filter((r) => r.method === 'PATCH');
    expect(after.findIndex((r) => isFailedAlarm(r, victim))).toBeLessThan(5);
    expect(after.filter((r) => isFailedAlarm(r))).toHaveLength(1);
    expect(repairActionOf(after.find((r) => isFailedAlarm(r)) ?? after[0] ?? stack.vim.records[0] ?? ({} as never))).toBe('reboot');
    expect(after.length).toBeLessThanOrEqual(depth + 10);
    // Each instance ends at its state of the last batch (b = 99).
    for (const [i, uuid] of uuids.entries()) {
      const last = after.filter((r) => isVimEvent(r, 'service', uuid)).at(-1);
      const status = (last?.json as { 'event-data'?: { services?: { status?: string }[] } } | undefined)?.['event-data']?.services?.[0]?.status;
      expect(status, uuid).toBe((99 + i) % 2 === 0 ? 'enabled' : 'disabled');
    }
  }, 90_000);

  it('level-triggered: an agent restarted without its journal (a swact to an empty controller) alarms the condition its server still reports', async () => {
    const stack = await Stack.create({ auditSecs: 1 });
    await stack.startAgent(); // no state_dir
    await stack.startServer();
    const uuids = [uuidOf(0xa00), uuidOf(0xa01)];
    await stack.provision(uuids);
    const guests: SimulatedGuest[] = [];
    for (const uuid of uuids) {
      const guest = new SimulatedGuest({ dir: stack.channelDir, uuid, config: { heartbeatIntervalMs: 300, correctiveAction: 'stop' } });
      onTestFinished(() => guest.close());
      await guest.start();
      guests.push(guest);
    }
    for (const uuid of uuids) await stack.vim.waitFor((r) => isVimEvent(r, 'service', uuid), 20_000);
    await stack.vim.down();
    guests[0]?.stopAnswering();
    await waitFor(async () => (await agentMetric(stack, 'guest_agent_server_events_total{kind="loss",outcome="new"}')) === 1, 15_000, 'the agent accepting the loss', () => stack.report());
    await stack.agent?.kill9(); // the accepted loss dies with it: no journal
    await stack.startAgent();
    await stack.vim.up();
    // The server re-registers with its next event (here: the other guest's QEMU restarts), then the audit runs.
    await guests[1]?.recreateSocket();
    const alarm = await stack.vim.waitFor((r) => isFailedAlarm(r, uuids[0]), 20_000);
    expect(repairActionOf(alarm)).toBe('stop');
    await sleep(2_500);
    expect([...failedAlarms(stack.vim.records).entries()].map(([u, list]) => [u, list.length])).toEqual([[uuids[0], 1]]);
  }, 60_000);
});
