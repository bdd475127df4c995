/**
 * Challenge phases (issue 17, README "Challenge phases"): where on its interval each instance is challenged.
 * Pure: the planner counts claims, nearestOnPhase is arithmetic; the reducer's use is in heartbeat-machine.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChallengePhases, nearestOnPhase } from '../src/challenge-phase.js';
import { initialInstanceState, nextDeadline, stepInstance } from '../src/index.js';
import { INIT, policy, run } from './helpers/machine.js';
import { DEFAULT_CHALLENGE_PHASES, DEFAULT_TIMER_LEAD_MS, MAX_TIMER_LEAD_MS, buildConfig } from '../src/config.js';

describe('nearestOnPhase', () => {
  it('is on the phase and within half an interval of now, later on a tie', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: -10_000_000, max: 10_000_000 }),
      (at, intervalMs, onPhaseAt) => {
        const t = nearestOnPhase(at, intervalMs, onPhaseAt);
        expect(((t - onPhaseAt) % intervalMs + intervalMs) % intervalMs).toBe(0);
        expect(t).toBeGreaterThan(at - intervalMs / 2);
        expect(t).toBeLessThanOrEqual(at + intervalMs / 2);
      },
    ));
    expect(nearestOnPhase(3500, 1000, 0)).toBe(4000);
    expect(nearestOnPhase(3499, 1000, 0)).toBe(3000);
  });
});

describe('ChallengePhases', () => {
  it('fills a phase with guestsPerPhase instances, then opens the next in bit-reversed order', () => {
    const phases = new ChallengePhases(64, 2);
    const got = Array.from({ length: 10 }, () => phases.phaseMs(640));
    expect(got).toEqual([0, 0, 320, 320, 160, 160, 480, 480, 80, 80]);
  });

  it('100 guests that start together: clusters of at most 8, 13 phases spread over the interval', () => {
    const phases = new ChallengePhases(64, 8);
    const counts = new Map<number, number>();
    for (let i = 0; i < 100; i++) {
      const ms = phases.phaseMs(400);
      counts.set(ms, (counts.get(ms) ?? 0) + 1);
    }
    expect(Math.max(...counts.values())).toBe(8);
    expect(counts.size).toBe(13);
    const used = [...counts.keys()].sort((a, b) => a - b);
    const gaps = used.map((ms, i) => (used[i + 1] ?? used[0]! + 400) - ms);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(400 / 8);
  });

  it('every phase is used once the claims go round, and then it starts over', () => {
    const phases = new ChallengePhases(8, 3);
    const seen = Array.from({ length: 24 }, () => phases.phaseMs(800));
    expect(new Set(seen)).toEqual(new Set([0, 100, 200, 300, 400, 500, 600, 700]));
    expect(phases.phaseMs(800)).toBe(0);
  });

  it('one phase puts every instance on it', () => {
    const phases = new ChallengePhases(1, 8);
    expect(Array.from({ length: 20 }, () => phases.phaseMs(400))).toEqual(Array(20).fill(0));
  });

  it('refuses what is not a power of two in 1..1024, and guestsPerPhase < 1', () => {
    expect(() => new ChallengePhases(3, 8)).toThrow(RangeError);
    expect(() => new ChallengePhases(0, 8)).toThrow(RangeError);
    expect(() => new ChallengePhases(2048, 8)).toThrow(RangeError);
    expect(() => new ChallengePhases(64, 0)).toThrow(RangeError);
  });

  it('drives the reducer: 24 instances initialised at the same moment are challenged in three clusters of 8', () => {
    const phases = new ChallengePhases(64, 8);
    const p = policy({ challengePhaseMs: phases.phaseMs });
    const deadlines = Array.from({ length: 24 }, () => {
      const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
      return nextDeadline(p, stepInstance(p, s0, { type: 'message', at: 100, message: INIT })[0]);
    });
    const clusters = new Map<number | undefined, number>();
    for (const d of deadlines) clusters.set(d, (clusters.get(d) ?? 0) + 1);
    // interval 1000: phases 0, 500, 250; nearest to 100 → 0, 500, 250; next challenge one interval on.
    expect(clusters).toEqual(new Map([[1000, 8], [1500, 8], [1250, 8]]));
  });
});

describe('[client] challenge_phases, challenge_phase_guests, timer_lead_ms', () => {
  const config = (text: string): ReturnType<typeof buildConfig> => buildConfig({ iniText: text, cli: {}, osHostname: 'h' });

  it('defaults to 64 phases of 8 guests; 0 turns phases off; a power of two up to 1024', () => {
    expect(DEFAULT_CHALLENGE_PHASES).toBe(64);
    expect(config('').challengePhases).toBe(64);
    expect(config('[client]\nchallenge_phases = 0\n').challengePhases).toBe(0);
    expect(config('[client]\nchallenge_phases = 1024\n').challengePhases).toBe(1024);
    expect(config('').challengePhaseGuests).toBe(8);
    expect(config('[client]\nchallenge_phase_guests = 16\n').challengePhaseGuests).toBe(16);
  });

  it('refuses other values, naming the key', () => {
    expect(() => config('[client]\nchallenge_phases = 48\n')).toThrow(/challenge_phases.*power of two/);
    expect(() => config('[client]\nchallenge_phases = 2048\n')).toThrow(/challenge_phases/);
    expect(() => config('[client]\nchallenge_phases = -1\n')).toThrow(/challenge_phases/);
    expect(() => config('[client]\nchallenge_phase_guests = 0\n')).toThrow(/challenge_phase_guests/);
  });

  it('timer_lead_ms defaults to 1 ms; 0 turns it off; at most 5; other values are refused, naming the key', () => {
    expect(DEFAULT_TIMER_LEAD_MS).toBe(1);
    expect(config('').timerLeadMs).toBe(1);
    expect(config('[client]\ntimer_lead_ms = 0\n').timerLeadMs).toBe(0);
    expect(config(`[client]\ntimer_lead_ms = ${MAX_TIMER_LEAD_MS}\n`).timerLeadMs).toBe(5);
    expect(() => config('[client]\ntimer_lead_ms = 6\n')).toThrow(/timer_lead_ms/);
    expect(() => config('[client]\ntimer_lead_ms = -1\n')).toThrow(/timer_lead_ms/);
  });
});
