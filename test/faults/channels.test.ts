/**
 * Issue 8 item 2: channel faults over real processes. A QEMU restart deletes and re-creates the socket:
 * guest-server reconnects and heartbeating resumes without a loss. 200 guests appear at once: every one is
 * found, initialised and heartbeating, and the VIM hears each one enabled.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimulatedGuest, startSimulatedGuests } from '@guesthb/guest-client';
import { Stack, isFailedAlarm, isHeartbeatEnabled, uuidOf, uuidOfRecord } from './helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

describe('channel faults', () => {
  it('a socket deleted and re-created (QEMU restart): reconnect, heartbeating resumes, no loss', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    await stack.startServer();
    const uuid = uuidOf(0x400);
    await stack.provision([uuid]);
    const guest = new SimulatedGuest({ dir: stack.channelDir, uuid, config: { heartbeatIntervalMs: 400, correctiveAction: 'reboot' } });
    onTestFinished(() => guest.close());
    await guest.start();
    await stack.vim.waitFor((r) => isHeartbeatEnabled(r, uuid), 20_000);

    for (let round = 1; round <= 3; round++) {
      const seen = guest.stats.responsesSent;
      await guest.recreateSocket();
      await waitFor(() => guest.stats.connections === round + 1 && guest.stats.responsesSent >= seen + 3, 20_000, `heartbeating after re-creation ${round}`, () => stack.report());
    }
    const m = await stack.serverMetrics();
    expect(m.get('guest_server_losses_total') ?? 0).toBe(0);
    expect(stack.vim.records.filter((r) => isFailedAlarm(r))).toEqual([]);
    // The VIM's last word on the instance is "heartbeating enabled".
    const last = stack.vim.records.filter((r) => r.method === 'PATCH' && uuidOfRecord(r) === uuid).at(-1);
    await stack.vim.waitFor((r) => r === last && isHeartbeatEnabled(r, uuid), 10_000);
  }, 90_000);

  it('200 guests appearing at once are all found, initialised and reported enabled', async () => {
    const stack = await Stack.create();
    await stack.startAgent();
    await stack.startServer();
    const uuids = Array.from({ length: 200 }, (_, i) => uuidOf(0x1000 + i));
    await stack.provision(uuids);
    const guests = await startSimulatedGuests(uuids, { dir: stack.channelDir, config: { heartbeatIntervalMs: 400, correctiveAction: 'reboot' } });
    onTestFinished(async () => {
      await Promise.all(guests.map((g) => g.close()));
    });
    await waitFor(() => guests.every((g) => g.stats.responsesSent >= 3), 40_000, 'all 200 guests heartbeating', () => {
      const slow = guests.filter((g) => g.stats.responsesSent < 3);
      return `${slow.length} not yet: ${slow.slice(0, 5).map((g) => `${g.uuid} ${g.state}`).join(', ')}\n${stack.report()}`;
    });
    await waitFor(() => new Set(stack.vim.records.filter((r) => isHeartbeatEnabled(r)).map(uuidOfRecord)).size === 200, 30_000, 'the VIM hearing 200 enabled');
    expect((await stack.serverMetrics()).get('guest_server_losses_total') ?? 0).toBe(0);
    const listed = await (await fetch(`${stack.serverUrl}/v1/instances`)).json() as { instances: unknown[] };
    expect(listed.instances).toHaveLength(200);
  }, 120_000);
});
