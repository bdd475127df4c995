/**
 * Challenge phases over real sockets (issue 17, README "Challenge phases"): guests that initialise together
 * are challenged in clusters of at most 8, on phases half an interval apart; with challenge_phases = 0 they
 * stay together, as the original. The margins are a quarter interval (250 ms), not a timing measurement.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '@guesthb/daemon-kit';
import type { Clock } from '@guesthb/protocol';
import { startAgent, startGuest, startServer, tempDir, until, uuidOf } from './helpers/harness.js';
import type { TestGuest } from './helpers/test-guest.js';

const INTERVAL_MS = 1000;

/** Each guest's challenge arrival times (performance.now()). */
async function challengeTimes(ini: string): Promise<number[][]> {
  const dir = await tempDir();
  const agent = await startAgent();
  const guests: TestGuest[] = [];
  for (let i = 0; i < 16; i++) guests.push(await startGuest(dir, uuidOf(i), { intervalMs: INTERVAL_MS }));
  const times = guests.map(() => [] as number[]);
  guests.forEach((g, i) => g.on('message', (m: { msg_type: string }) => { if (m.msg_type === 'challenge') times[i]?.push(performance.now()); }));
  await startServer({ dir, agentUrl: agent.url, ini });
  await until(() => times.every((t) => t.length >= 3), 10_000, 'three challenges at every guest');
  return times;
}

/** Offsets of each guest's third challenge from the first guest's, folded into [−interval/2, interval/2). */
function phaseOffsets(times: number[][]): number[] {
  const ref = times[0]?.[2] ?? 0;
  return times.map((t) => {
    const d = (((t[2] ?? 0) - ref) % INTERVAL_MS + INTERVAL_MS) % INTERVAL_MS;
    return d >= INTERVAL_MS / 2 ? d - INTERVAL_MS : d;
  });
}

describe('challenge phases over real sockets (issue 17)', () => {
  it('16 guests initialised together: two clusters of 8, half an interval apart (the default, 64 phases)', async () => {
    const offsets = phaseOffsets(await challengeTimes(''));
    const near = offsets.filter((d) => Math.abs(d) < INTERVAL_MS / 4);
    const opposite = offsets.filter((d) => Math.abs(d) > INTERVAL_MS / 4);
    expect(near, offsets.map((d) => d.toFixed(0)).join(' ')).toHaveLength(8);
    expect(opposite).toHaveLength(8);
  });

  it('challenge_phases = 0: every guest keeps the moment of its init, one cluster', async () => {
    const offsets = phaseOffsets(await challengeTimes('challenge_phases = 0\n'));
    expect(offsets.filter((d) => Math.abs(d) < INTERVAL_MS / 4), offsets.map((d) => d.toFixed(0)).join(' ')).toHaveLength(16);
  });
});

describe('[client] timer_lead_ms over real sockets (issue 17, README "Timer lead"; the key itself: challenge-phase.test.ts)', () => {
  /** The real clock, recording what the server asks it to sleep. */
  function recordingClock(): { clock: Clock; sleeps: number[] } {
    const sleeps: number[] = [];
    const clock: Clock = {
      now: systemClock.now, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout,
      sleep: (ms) => { sleeps.push(ms); systemClock.sleep?.(ms); },
    };
    return { clock, sleeps };
  }

  async function heartbeatWith(ini: string): Promise<number[]> {
    const dir = await tempDir();
    const agent = await startAgent();
    const guests: TestGuest[] = [];
    for (let i = 0; i < 4; i++) guests.push(await startGuest(dir, uuidOf(i), { intervalMs: 100 }));
    let challenges = 0;
    for (const g of guests) g.on('message', (m: { msg_type: string }) => { if (m.msg_type === 'challenge') challenges++; });
    const { clock, sleeps } = recordingClock();
    await startServer({ dir, agentUrl: agent.url, ini, clock });
    await until(() => challenges >= 40, 10_000, 'ten challenges per guest');
    return sleeps;
  }

  it('the sessions\' timers wake the lead early and sleep the rest, never longer than lead + 2 ms', async () => {
    const sleeps = await heartbeatWith('timer_lead_ms = 2\n');
    expect(sleeps.length).toBeGreaterThan(0);
    for (const ms of sleeps) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(4);
    }
  });

  it('timer_lead_ms = 0: Node\'s timers alone, the server never sleeps', async () => {
    expect(await heartbeatWith('timer_lead_ms = 0\n')).toEqual([]);
  });
});
