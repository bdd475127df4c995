/**
 * Issue 16: the class, evidence and forensics of a loss reach the operator. The fleet view keeps the last
 * report's corroboration (across later events) and names the class in the last event; the operator route on a
 * real listener serves it and `guestctl show` prints it. The VIM's alarm for the same event is unchanged
 * (server-events.test.ts and vim-contract.test.ts hold the bodies byte-exact).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '@guesthb/daemon-kit';
import { runGuestctl } from '@guesthb/guestctl';
import { ManualClock, OperatorInstanceSchema, type Corroboration, type OperatorStreamMessage } from '@guesthb/protocol';
import { InventoryFleet } from '../src/fleet-source.js';
import { Inventory } from '../src/inventory.js';
import { createAgentMetrics } from '../src/metrics.js';
import { operatorRoutes } from '../src/operator-app.js';
import { buildRxApp } from '../src/rx-app.js';

const UUID = '11111111-2222-3333-4444-555555555555';
const info = { hostname: 'compute-0', uuid: UUID, reporting: 'enabled', heartbeating: 'enabled', 'repair-action': 'reboot', 'restart-to': '1', 'shutdown-to': '1', 'suspend-to': '1', 'resume-to': '1', 'vote-to': '1' } as const;
const CORROBORATION: Corroboration = {
  class: 'host-starved',
  evidence: { pid: 4242, processState: 'R', vcpus: 1, windowMs: 2000, samples: 5, cpuPct: 0.1, waitPct: 99, slices: 3, runnable: 1 },
  deferredMs: 2000,
  rounds: [{ agoMs: 4000, rttMs: 0.42 }, { agoMs: 3000, rttMs: null }, { agoMs: 2000, rttMs: null }],
  lastLogMsg: 'all good',
};

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => { for (const close of closers.splice(0)) await close(); });

function fleetWithOneInstance(): { fleet: InventoryFleet; clock: ManualClock } {
  const clock = new ManualClock(0);
  const inventory = new Inventory();
  inventory.addHost('h', 'compute-0');
  const compute = inventory.hostByName('compute-0');
  if (compute !== undefined) inventory.setHostReporting(compute, true);
  inventory.addInstance('compute-0', UUID, true);
  inventory.registerServer('compute-0', 'http://s:2411', 'boot1', 0);
  return { fleet: new InventoryFleet({ inventory, clock, log: pino({ level: 'silent' }), vimOutboxDepth: () => 0, reachableWindowMs: () => 1e9, pollMs: 1000 }), clock };
}

describe('[16.3] corroboration in the operator view', () => {
  it('a loss with corroboration: the class in the last event, the record on the instance, kept after running again', () => {
    const { fleet } = fleetWithOneInstance();
    const got: OperatorStreamMessage[] = [];
    fleet.subscribe((m) => got.push(m));
    fleet.noteServerEvent({ id: 'e1', hostname: 'compute-0', atMs: 5000, kind: 'loss', uuid: UUID, correctiveAction: 'reboot', corroboration: CORROBORATION });
    const view = fleet.instance(UUID);
    expect(view?.lastEvent?.detail).toBe('heartbeat lost (action reboot); host: host-starved');
    expect(view?.corroboration).toEqual({ ...CORROBORATION, report: 'loss', atMs: 5000 });
    expect(OperatorInstanceSchema.parse(view)).toEqual(view);
    expect(got[0]).toMatchObject({ type: 'server-event', event: { detail: 'heartbeat lost (action reboot); host: host-starved' } });
    fleet.noteServerEvent({ id: 'e2', hostname: 'compute-0', atMs: 9000, kind: 'running', instance: info });
    expect(fleet.instance(UUID)?.lastEvent?.kind).toBe('running');
    expect(fleet.instance(UUID)?.corroboration?.class).toBe('host-starved');
    // A loss from a server without corroboration (older, or corroborate = off) shows none.
    const plain = fleetWithOneInstance().fleet;
    plain.noteServerEvent({ id: 'e3', hostname: 'compute-0', atMs: 1, kind: 'loss', uuid: UUID, correctiveAction: 'reboot' });
    expect(plain.instance(UUID)?.corroboration).toBeUndefined();
    fleet.close();
    plain.close();
  });

  it('GET /v1/operator/instances/:uuid serves it and guestctl show prints class, evidence, forensics and the log_msg', async () => {
    const { fleet } = fleetWithOneInstance();
    closers.push(async () => fleet.close());
    fleet.noteServerEvent({ id: 'e1', hostname: 'compute-0', atMs: 5000, kind: 'loss', uuid: UUID, correctiveAction: 'reboot', corroboration: CORROBORATION });
    const log = pino({ level: 'silent' });
    const app = buildRxApp({ log, metrics: createAgentMetrics(new Inventory()), token: () => undefined, acceptEvents: () => ({ acked: [] }), health: () => ({ ok: true, detail: {} }) });
    await app.register(operatorRoutes, { fleet, token: () => undefined, log, clock: systemClock });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const served = OperatorInstanceSchema.parse(await (await fetch(`${base}/v1/operator/instances/${UUID}`)).json());
    expect(served.corroboration?.rounds).toHaveLength(3);

    let out = '';
    const code = await runGuestctl({
      argv: ['--agent', base, 'show', UUID, '-f', 'json'], env: {}, signal: new AbortController().signal,
      out: { write: (t: string) => { out += t; } }, err: { write: () => undefined },
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      host_class: 'host-starved', host_report: 'loss', host_deferred_ms: 2000, forensics: '0.42 miss miss', last_log_msg: 'all good',
      host_evidence: 'pid 4242 state R, 1 vCPU, cpu 0.1 %, wait 99 %, 3 slices, 1 runnable, over 2000 ms (5 samples)',
    });
  });
});
