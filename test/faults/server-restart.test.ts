/**
 * Issue 12 item 9, guest-server's side: a guest that hangs while guest-server is down (it never sends init
 * to the new server) is reported lost after the restart, at the init deadline, with its own action; a vote
 * in flight across a kill -9 of guest-server ends with a result at the VIM. Real processes, seeded
 * (GUESTHB_FAULT_SEED replays, GUESTHB_FAULT_TRIALS runs more), bounded in time.
 */
import { describe, expect, it } from 'vitest';
import { HOSTNAME, isFailedAlarm, isVimEvent, uuidOfRecord } from './helpers/stack.js';
import { faultSeed, failedAlarms, repairActionOf, seededRandom, vimCall } from './helpers/agent-faults.js';
import { startServerWithState } from './helpers/server-faults.js';
import { sleep, startFleet, vimRecord } from './helpers/fleet.js';

const SEED = faultSeed();
const TRIALS = Number(process.env['GUESTHB_FAULT_TRIALS'] ?? '2');
const random = seededRandom(SEED ^ 0x7e57);
console.log(`server-restart fault trials: seed ${SEED} (GUESTHB_FAULT_SEED=${SEED} replays), ${TRIALS} trials per case`);

describe('guest-server restarts (issue 12)', () => {
  it('a guest hung while guest-server is down is lost after the restart with its own action; the others are not', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(3, 0xb00 + 16 * trial, { voteSecs: 6 });
      const graceful = random() < 0.5;
      const downMs = Math.floor(random() * 2_000);
      const what = `trial ${trial}, ${graceful ? 'SIGTERM' : 'kill -9'}, down ${downMs} ms (seed ${SEED})`;
      if (graceful) await stack.server?.stop();
      else await stack.server?.kill9();
      guests[0]?.stopAnswering();
      await sleep(downMs);
      const restartedAt = performance.now();
      await startServerWithState(stack);
      const alarm = await vimRecord(stack, (r) => isFailedAlarm(r, uuids[0]), 20_000);
      expect(repairActionOf(alarm), what).toBe('reboot');
      // Within the init deadline (3 s) plus delivery, counted from the restart.
      expect(performance.now() - restartedAt, what).toBeLessThan(3_000 + 4_000);
      await sleep(1_500);
      const alarms = failedAlarms(stack.vim.records);
      expect(alarms.get(uuids[0] ?? '')?.length, what).toBe(1);
      for (const uuid of uuids.slice(1)) expect(alarms.get(uuid) ?? [], `${what}: healthy ${uuid}`).toEqual([]);
      await stack.server?.stop();
      await stack.agent?.stop();
      for (const g of guests) await g.close();
    }
  }, 60_000 * Math.max(1, TRIALS));

  it('a vote in flight across a kill -9 of guest-server ends with a result at the VIM', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const { stack, uuids, guests } = await startFleet(1, 0xc00 + 16 * trial, { voteSecs: 6, vote: 'timeout' });
      const uuid = uuids[0] ?? '';
      const reply = await vimCall(stack.ports.vim, 'POST', `/v1/instances/${uuid}/vote`, { uuid, hostname: HOSTNAME, action: 'stop' });
      expect(reply.status).toBe(200);
      await sleep(200 + Math.floor(random() * 800));
      await stack.server?.kill9();
      await startServerWithState(stack);
      await vimRecord(stack, (r) => isVimEvent(r, 'action', uuid), 15_000);
      await sleep(1_000);
      expect(stack.vim.records.filter((r) => isVimEvent(r, 'action') && uuidOfRecord(r) === uuid).length, `trial ${trial} (seed ${SEED})`).toBeLessThanOrEqual(2);
      await stack.server?.stop();
      await stack.agent?.stop();
      for (const g of guests) await g.close();
    }
  }, 60_000 * Math.max(1, TRIALS));
});
