/**
 * Issue 12 item 9, guest-server's side: kill -9 of guest-server at a random moment around a loss, with the
 * agent up and with it down, over real processes (both daemons from dist with their state directories,
 * simulated guests, the test VIM listener). Seeded randomized trials, each bounded in time: the seed is
 * printed; GUESTHB_FAULT_SEED=<seed> replays, GUESTHB_FAULT_TRIALS=<n> runs more.
 * Every trial asserts: the failed alarm reaches the VIM with the guest's own corrective action (not the
 * default `log` of a server that forgot the init), at most once more across the crash, and no healthy
 * guest is alarmed.
 */
import { describe, expect, it } from 'vitest';
import type { SimulatedGuest } from '@guesthb/guest-client';
import { isFailedAlarm, type Stack } from './helpers/stack.js';
import { faultSeed, failedAlarms, repairActionOf, seededRandom, startAgentWithState } from './helpers/agent-faults.js';
import { startServerWithState } from './helpers/server-faults.js';
import { sleep, startFleet, vimRecord } from './helpers/fleet.js';

const SEED = faultSeed();
const TRIALS = Number(process.env['GUESTHB_FAULT_TRIALS'] ?? '2');
const random = seededRandom(SEED ^ 0x5eed);
console.log(`server-kill fault trials: seed ${SEED} (GUESTHB_FAULT_SEED=${SEED} replays), ${TRIALS} trials per case`);

async function teardown(stack: Stack, guests: readonly SimulatedGuest[]): Promise<void> {
  await stack.server?.stop();
  await stack.agent?.stop();
  for (const g of guests) await g.close();
}

/** The trial's verdict: one alarm for the victim (two only across the crash), with reboot; none for the rest. */
async function expectAlarm(stack: Stack, victim: string, healthy: readonly string[], what: string): Promise<void> {
  const alarm = await vimRecord(stack, (r) => isFailedAlarm(r, victim), 20_000);
  expect(repairActionOf(alarm), what).toBe('reboot');
  await sleep(1_000);
  const alarms = failedAlarms(stack.vim.records);
  expect(alarms.get(victim)?.length ?? 0, what).toBeLessThanOrEqual(2);
  for (const uuid of healthy) expect(alarms.get(uuid) ?? [], `${what}: healthy ${uuid} alarmed`).toEqual([]);
}

describe('guest-server kill -9 around a loss (issue 12)', () => {
  it('the agent up: the alarm reaches the VIM with the guest\'s action whatever the moment of the kill', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(2, 0x900 + 16 * trial);
      const killAfterMs = Math.floor(random() * 2_500);
      const what = `trial ${trial}, kill ${killAfterMs} ms after the hang (seed ${SEED})`;
      guests[0]?.stopAnswering();
      await sleep(killAfterMs);
      await stack.server?.kill9();
      await startServerWithState(stack);
      await expectAlarm(stack, uuids[0] ?? '', uuids.slice(1), what);
      await teardown(stack, guests);
    }
  }, 60_000 * Math.max(1, TRIALS));

  it('the agent down: the loss survives the server\'s kill -9 and reaches the VIM once the agent is back', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(2, 0xa00 + 16 * trial);
      const killAfterMs = Math.floor(random() * 2_500);
      const agentBackAfterMs = Math.floor(random() * 1_500);
      const what = `trial ${trial}, kill ${killAfterMs} ms after the hang, agent back ${agentBackAfterMs} ms after the restart (seed ${SEED})`;
      await stack.agent?.kill9();
      guests[0]?.stopAnswering();
      await sleep(killAfterMs);
      await stack.server?.kill9();
      await startServerWithState(stack);
      await sleep(agentBackAfterMs);
      await startAgentWithState(stack);
      await expectAlarm(stack, uuids[0] ?? '', uuids.slice(1), what);
      await teardown(stack, guests);
    }
  }, 60_000 * Math.max(1, TRIALS));
});
