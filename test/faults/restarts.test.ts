/**
 * Issue 8 item 2: kill -9 of guest-server and of guest-agent, as real processes. A killed server is
 * restarted: it rediscovers every channel, heartbeating resumes, no loss is reported for a healthy guest,
 * and an event the agent already held for the VIM is still delivered. A killed agent: the server keeps its
 * events in its outbox and delivers them when the agent is back.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedGuest } from '@guesthb/guest-client';
import { Stack, isFailedAlarm, isHeartbeatEnabled, metricsOf, uuidOf } from './helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL_MS = 400;

async function startGuests(stack: Stack, count: number, base: number): Promise<SimulatedGuest[]> {
  const guests: SimulatedGuest[] = [];
  for (let i = 0; i < count; i++) {
    const guest = new SimulatedGuest({ dir: stack.channelDir, uuid: uuidOf(base + i), config: { heartbeatIntervalMs: INTERVAL_MS, correctiveAction: 'reboot' } });
    onTestFinished(() => guest.close());
    await guest.start();
    guests.push(guest);
  }
  return guests;
}

describe('daemon restarts after kill -9', () => {
  it('guest-server: instances rediscovered, heartbeats resumed, no false loss, the pending alarm delivered', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    await stack.startServer();
    const uuids = [0, 1, 2, 3, 4].map((i) => uuidOf(0x100 + i));
    await stack.provision(uuids);
    const guests = await startGuests(stack, 5, 0x100);
    for (const uuid of uuids) await stack.vim.waitFor((r) => isHeartbeatEnabled(r, uuid), 20_000);

    // The VIM goes down and guest 0 hangs: its failed alarm reaches the agent, which holds it.
    await stack.vim.down();
    const victim = guests[0];
    if (victim === undefined) throw new Error('no guest');
    victim.stopAnswering();
    await waitFor(async () => (await stack.serverMetrics()).get('guest_server_losses_total') === 1, 10_000, 'the loss at the server', () => stack.report());
    await waitFor(async () => (await metricsOf(`${stack.agentUrl}/metrics`)).get('guest_agent_outbox_depth') !== 0, 10_000, 'the alarm queued at the agent', () => stack.report());

    const before = guests.slice(1).map((g) => g.stats.responsesSent);
    await stack.server?.kill9();
    await stack.startServer();

    // Every channel is found again and the healthy guests answer the new server's challenges.
    await waitFor(() => guests.slice(1).every((g, i) => g.stats.connections >= 2 && g.stats.responsesSent >= (before[i] ?? 0) + 5), 20_000,
      'heartbeats resumed on the new server', () => stack.report());
    const listed = await (await fetch(`${stack.serverUrl}/v1/instances`)).json() as { instances: { uuid: string }[] };
    expect(listed.instances.map((i) => i.uuid).sort()).toEqual([...uuids].sort());

    await stack.vim.up();
    await stack.vim.waitFor((r) => isFailedAlarm(r, uuids[0]), 40_000);
    await waitFor(async () => (await metricsOf(`${stack.agentUrl}/metrics`)).get('guest_agent_outbox_depth') === 0, 40_000, 'the agent outbox drained', () => stack.report());
    // Exactly one failed alarm, for the hung guest only: the restart itself raised none.
    expect(stack.vim.records.filter((r) => isFailedAlarm(r)).map((r) => (r.json as { uuid: string }).uuid)).toEqual([uuids[0]]);
    expect((await stack.serverMetrics()).get('guest_server_losses_total') ?? 0).toBe(0);
  }, 120_000);

  it('guest-agent: the server keeps its events while the agent is dead and delivers them when it is back', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    await stack.startServer();
    const uuids = [0, 1, 2].map((i) => uuidOf(0x200 + i));
    await stack.provision(uuids);
    const guests = await startGuests(stack, 3, 0x200);
    for (const uuid of uuids) await stack.vim.waitFor((r) => isHeartbeatEnabled(r, uuid), 20_000);

    await stack.agent?.kill9();
    guests[1]?.stopAnswering();
    // The loss waits in the server's outbox; sending fails while the agent is dead.
    await waitFor(async () => {
      const m = await stack.serverMetrics();
      return m.get('guest_server_losses_total') === 1 && (m.get('guest_server_event_send_failures_total') ?? 0) > 0;
    }, 15_000, 'the loss held by the server', () => stack.report());
    expect((await stack.serverMetrics()).get('guest_server_outbox_depth')).toBeGreaterThan(0);

    // Back: the held events are delivered to the new agent and acknowledged; none is lost or repeated.
    await stack.startAgent();
    await waitFor(async () => (await stack.serverMetrics()).get('guest_server_outbox_depth') === 0, 20_000, 'the server outbox drained', () => stack.report());
    const agent = await metricsOf(`${stack.agentUrl}/metrics`);
    expect(agent.get('guest_agent_server_events_total{kind="loss",outcome="new"}')).toBe(1);
    expect(agent.get('guest_agent_server_events_total{kind="loss",outcome="duplicate"}') ?? 0).toBe(0);
    // The restarted agent learns the instance from the loss itself and raises the failed alarm, once.
    await stack.vim.waitFor((r) => isFailedAlarm(r, uuids[1]), 20_000);
    expect(stack.vim.records.filter((r) => isFailedAlarm(r)).map((r) => (r.json as { uuid: string }).uuid)).toEqual([uuids[1]]);
  }, 120_000);
});
