/**
 * Pure tests of the per-instance reducer: every row of daemons §2.4 / §1.9 and each quirk decision
 * (README "Decisions"). No clock, no I/O: time is the `at` of each event.
 */
import { describe, expect, it } from 'vitest';
import { initialInstanceState, nextDeadline, stepInstance } from '../src/index.js';
import { INIT, bodies, counts, heartbeating, initialised, policy, reports, response, run, sends } from './helpers/machine.js';

describe('connect (daemons §1.3, §2.4 row "connect DONE")', () => {
  it('channel-found connects; connected waits for init with the 120 s reconnect audit armed', () => {
    const p = policy();
    const [s1, fx1] = stepInstance(p, initialInstanceState(0), { type: 'channel-found', at: 0 });
    expect(fx1).toEqual([{ type: 'connect' }]);
    const [s2] = stepInstance(p, s1, { type: 'connected', at: 5 });
    expect(s2.link).toEqual({ kind: 'connected', since: 5 });
    expect(s2.cycle.kind).toBe('waiting-init');
    expect(nextDeadline(p, s2)).toBe(5 + 120_000);
  });

  it('connect failures back off 1, 2, 4 … 60 s (daemons §1.3)', () => {
    const p = policy();
    let s = stepInstance(p, initialInstanceState(0), { type: 'channel-found', at: 0 })[0];
    const delays: number[] = [];
    let at = 0;
    for (let i = 0; i < 8; i++) {
      s = stepInstance(p, s, { type: 'connect-failed', at, error: 'ECONNREFUSED' })[0];
      if (s.link.kind !== 'backing-off') throw new Error('expected backing-off');
      delays.push(s.link.retryAt - at);
      at = s.link.retryAt;
      const [next, fx] = stepInstance(p, s, { type: 'tick', at });
      expect(fx).toEqual([{ type: 'connect' }]);
      s = next;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });

  it('a valid init resets the backoff; the next disconnect waits 1 s', () => {
    const p = policy();
    let s = initialInstanceState(0);
    s = run(p, s, [{ type: 'channel-found', at: 0 }, { type: 'connect-failed', at: 0, error: 'x' }, { type: 'tick', at: 1000 }, { type: 'connect-failed', at: 1000, error: 'x' }])[0];
    expect(s.connectAttempt).toBe(2);
    s = run(p, s, [{ type: 'tick', at: 3000 }, { type: 'connected', at: 3000 }, { type: 'message', at: 3001, message: INIT }])[0];
    expect(s.connectAttempt).toBe(0);
    s = stepInstance(p, s, { type: 'disconnected', at: 4000, cause: 'EOF' })[0];
    expect(s.link).toEqual({ kind: 'backing-off', retryAt: 5000 });
  });
});

describe('init (daemons §1.6 init, §2.4)', () => {
  it('waiting_init + valid init: init_ack to that invocation, then the first challenge at once', () => {
    const p = policy();
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 20, message: INIT });
    expect(sends(fx)).toEqual(['init_ack', 'challenge']);
    expect(bodies(fx)).toEqual([
      { msg_type: 'init_ack', invocation_id: 77, sequence: 1 },
      { msg_type: 'challenge', heartbeat_challenge: 101, sequence: 2 },
    ]);
    expect(s.cycle).toEqual({ kind: 'cycling', challenge: 101, scheduledAt: 20, sentAt: 20, misses: 0 });
    expect(s.answered).toBe(false);
    expect(s.params).toMatchObject({ invocationId: 77, intervalMs: 1000, voteSecs: 9, restartSecs: 300, correctiveAction: 'reboot' });
    expect(nextDeadline(p, s)).toBe(1020);
  });

  it('an interval below hbs_pulse_period is raised to it; a huge one is capped', () => {
    const p = policy({ pulsePeriodMs: 400 });
    const low = stepInstance(p, initialised(p), { type: 'message', at: 1, message: { ...INIT, heartbeat_interval_ms: 100 } })[0];
    expect(low.params.intervalMs).toBe(400);
    const high = stepInstance(p, initialised(p), { type: 'message', at: 1, message: { ...INIT, heartbeat_interval_ms: 2_000_000_000 } })[0];
    expect(high.params.intervalMs).toBe(3_600_000);
  });

  it('[§9 item 7] an init while cycling is acked (the newest init wins) and heartbeating is kept', () => {
    const p = policy();
    const s0 = heartbeating(p);
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 500, message: { ...INIT, invocation_id: 88 } });
    expect(sends(fx)).toEqual(['init_ack', 'challenge']);
    expect(s.params.invocationId).toBe(88);
    expect(s.heartbeating).toBe(true);
    expect(reports(fx)).toEqual([]);
  });
});

describe('challenge / response (daemons §1.6, §1.8, §1.9)', () => {
  it('matching healthy response: waiting_challenge, RUNNING once', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, initialised(p), { type: 'message', at: 10, message: response(101) });
    expect(s.answered).toBe(true);
    expect(s.heartbeating).toBe(true);
    expect(reports(fx)).toEqual([{ kind: 'running' }]);
    expect(fx).toContainEqual({ type: 'response-latency', ms: 10 });
    const [, fx2] = run(p, s, [{ type: 'tick', at: 1000 }, { type: 'message', at: 1005, message: response(102) }]);
    expect(reports(fx2)).toEqual([]);
  });

  it('a late response (already answered) is ignored', () => {
    const p = policy();
    const [, fx] = stepInstance(p, heartbeating(p), { type: 'message', at: 20, message: response(101) });
    expect(counts(fx)).toEqual(['late-response']);
  });

  it('mismatching response: no state change, then a miss at the tick', () => {
    const p = policy();
    const s0 = initialised(p);
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 10, message: response(999) });
    expect(s).toBe(s0);
    expect(counts(fx)).toEqual(['mismatch']);
    const [s2, fx2] = stepInstance(p, s, { type: 'tick', at: 1000 });
    expect(counts(fx2)).toEqual(['miss', 'challenge']);
    expect(s2.cycle).toMatchObject({ misses: 1 });
    expect(s2.answered).toBe(false);
  });

  it('waiting_challenge + tick: next challenge on the schedule (no drift), misses reset', () => {
    const p = policy();
    const s0 = heartbeating(p);
    const [s, fx] = stepInstance(p, s0, { type: 'tick', at: 1003 });   // timer fired 3 ms late
    expect(sends(fx)).toEqual(['challenge']);
    expect(s.cycle).toMatchObject({ scheduledAt: 1000, sentAt: 1003, misses: 0, challenge: 102 });
    expect(nextDeadline(p, s)).toBe(2000);
  });

  it('after a stall of more than an interval one challenge goes out and the schedule keeps its phase (nearest slot), not burst', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'tick', at: 3500 });
    expect(sends(fx)).toEqual(['challenge']);
    expect(fx).toContainEqual(expect.objectContaining({ type: 'challenge', latenessMs: 0 }));
    expect(s.cycle).toMatchObject({ scheduledAt: 4000, sentAt: 3500 });
    expect(nextDeadline(p, s)).toBe(5000);
    const [s2] = stepInstance(p, heartbeating(p), { type: 'tick', at: 3300 });
    expect(s2.cycle).toMatchObject({ scheduledAt: 3000, sentAt: 3300 });
    expect(nextDeadline(p, s2)).toBe(4000);
  });

  it('the server\'s phase: the first challenge goes with init_ack, the next on the phase nearest one interval on', () => {
    const phases: number[] = [];
    const p = policy({ challengePhaseMs: (intervalMs) => { phases.push(intervalMs); return 250; } });
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 20, message: INIT });
    expect(sends(fx)).toEqual(['init_ack', 'challenge']);
    expect(phases).toEqual([1000]);
    expect(s.cycle).toMatchObject({ scheduledAt: 250, sentAt: 20 });
    expect(nextDeadline(p, s)).toBe(1250);
    const late = stepInstance(p, s0, { type: 'message', at: 900, message: INIT })[0];
    expect(nextDeadline(p, late)).toBe(2250);   // 1350 ms: between ½ and 1½ intervals
    const [s2, fx2] = run(p, s, [{ type: 'message', at: 30, message: response(101) }, { type: 'tick', at: 1251 }]);
    expect(sends(fx2)).toEqual(['challenge']);
    expect(fx2).toContainEqual(expect.objectContaining({ type: 'challenge', latenessMs: 1 }));
    expect(nextDeadline(p, s2)).toBe(2250);
  });

  it('no phase from the policy: the cycle keeps the moment of the init (the original)', () => {
    const p = policy({ challengePhaseMs: () => undefined });
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [s] = stepInstance(p, s0, { type: 'message', at: 20, message: INIT });
    expect(nextDeadline(p, s)).toBe(1020);
  });

  it('a tick before the slot does nothing', () => {
    const p = policy();
    const s0 = heartbeating(p);
    const [s, fx] = stepInstance(p, s0, { type: 'tick', at: 999 });
    expect(s).toBe(s0);
    expect(fx).toEqual([]);
  });

  it('misses ≤ threshold re-challenge; misses > threshold is loss: STOPPED then LOSS, challenges stop', () => {
    const p = policy({ failureThreshold: 1 });
    const [s1, fx1] = run(p, heartbeating(p), [{ type: 'tick', at: 1000 }, { type: 'tick', at: 2000 }]);
    expect(counts(fx1)).toEqual(['challenge', 'miss', 'challenge']);
    expect(s1.cycle).toMatchObject({ scheduledAt: 2000 });
    expect(s1.cycle).toMatchObject({ misses: 1 });
    const [s2, fx2] = stepInstance(p, s1, { type: 'tick', at: 3000 });
    expect(counts(fx2)).toEqual(['miss', 'loss']);
    expect(reports(fx2)).toEqual([{ kind: 'stopped', reason: 'loss' }, { kind: 'loss', correctiveAction: 'reboot' }]);
    expect(s2.cycle.kind).toBe('waiting-init');
    expect(s2.heartbeating).toBe(false);
    expect(sends(fx2)).toEqual([]);
    // Loss is declared (threshold + 1) × interval after the first unanswered challenge (sent at 1000).
    expect(nextDeadline(p, s2)).toBe(10 + 120_000);
  });

  it('threshold 0: the first missed window is a loss', () => {
    const p = policy({ failureThreshold: 0 });
    const [, fx] = run(p, initialised(p), [{ type: 'tick', at: 1000 }]);
    expect(reports(fx)).toEqual([{ kind: 'loss', correctiveAction: 'reboot' }]);
  });

  it('[§9 item 8] instance reporting disabled: misses counted as usual; STOPPED sent, LOSS withheld', () => {
    const p = policy();
    const s0 = run(p, heartbeating(p), [{ type: 'set-reporting', at: 11, reporting: false }, { type: 'tick', at: 1000 }])[0];
    const [s1, fx1] = stepInstance(p, s0, { type: 'tick', at: 2000 });
    expect(s1.cycle).toMatchObject({ kind: 'cycling', misses: 1 });   // one miss does not drop to waiting_init
    expect(reports(fx1)).toEqual([]);
    const [, fx2] = stepInstance(p, s1, { type: 'tick', at: 3000 });
    expect(reports(fx2)).toEqual([{ kind: 'stopped', reason: 'loss' }]);
    expect(counts(fx2)).toContain('loss');
  });

  it('host reporting disabled withholds LOSS too (daemons §1.9 FAILURE stage)', () => {
    const p = policy({ hostReporting: false });
    const s0 = stepInstance(p, heartbeating(p), { type: 'set-reporting', at: 11, reporting: true })[0];
    const [, fx] = run(p, s0, [{ type: 'tick', at: 1000 }, { type: 'tick', at: 2000 }, { type: 'tick', at: 3000 }]);
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'loss' }]);
  });

  it('a guest that re-inits after a loss heartbeats again: RUNNING', () => {
    const p = policy();
    let [s] = run(p, heartbeating(p), [{ type: 'tick', at: 1000 }, { type: 'tick', at: 2000 }, { type: 'tick', at: 3000 }]);
    expect(s.heartbeating).toBe(false);
    const [s2, fx] = run(p, s, [{ type: 'message', at: 5000, message: INIT }]);
    expect(sends(fx)).toEqual(['init_ack', 'challenge']);
    s = s2;
    const c = s.cycle.kind === 'cycling' ? s.cycle.challenge : -1;
    const [, fx3] = stepInstance(p, s, { type: 'message', at: 5010, message: response(c) });
    expect(reports(fx3)).toEqual([{ kind: 'running' }]);
  });

  it('responses while waiting for init are ignored', () => {
    const p = policy();
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 1, message: response(5) });
    expect(s).toBe(s0);
    expect(sends(fx)).toEqual([]);
  });
});

describe('health (daemons §1.10)', () => {
  it('unhealthy with a reportable action: ILLHEALTH with that action; counts as answered; no RUNNING', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, initialised(p), { type: 'message', at: 10, message: response(101, 'unhealthy', 'stop') });
    expect(reports(fx)).toEqual([{ kind: 'ill-health', action: 'stop', logMsg: 'unhealthy' }]);
    expect(s.answered).toBe(true);
    expect(s.heartbeating).toBe(false);
  });

  it('a persisting condition is re-reported only after illHealthRepeatMs, or when the action changes', () => {
    const p = policy({ illHealthRepeatMs: 60_000 });
    let s = stepInstance(p, initialised(p), { type: 'message', at: 10, message: response(101, 'unhealthy', 'stop') })[0];
    const next = (at: number, action: 'stop' | 'reboot'): unknown[] => {
      const [s1] = stepInstance(p, s, { type: 'tick', at });
      const c = s1.cycle.kind === 'cycling' ? s1.cycle.challenge : -1;
      const [s2, fx] = stepInstance(p, s1, { type: 'message', at: at + 5, message: response(c, 'unhealthy', action) });
      s = s2;
      return reports(fx);
    };
    expect(next(1000, 'stop')).toEqual([]);
    expect(next(2000, 'reboot')).toEqual([{ kind: 'ill-health', action: 'reboot', logMsg: 'unhealthy' }]);
    expect(next(3000, 'reboot')).toEqual([]);
    expect(next(62_000, 'reboot')).toEqual([{ kind: 'ill-health', action: 'reboot', logMsg: 'unhealthy' }]);
  });

  it('unhealthy with none/unknown is not reported; healthy again clears it', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, initialised(p), { type: 'message', at: 10, message: response(101, 'unhealthy', 'none') });
    expect(reports(fx)).toEqual([]);
    expect(s.unhealthy).toEqual({ action: 'none', reportedAt: undefined });
    const [s1] = stepInstance(p, s, { type: 'tick', at: 1000 });
    const [s2, fx2] = stepInstance(p, s1, { type: 'message', at: 1001, message: response(102) });
    expect(s2.unhealthy).toBeUndefined();
    expect(reports(fx2)).toEqual([{ kind: 'running' }]);
  });
});

describe('exit, reporting, link loss (daemons §1.3, §2.4)', () => {
  it('exit: STOPPED(exit), waiting_init, no loss', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'message', at: 20, message: { version: 3, revision: 1, msg_type: 'exit', sequence: 3, log_msg: 'bye' } });
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'exit' }]);
    expect(s.cycle.kind).toBe('waiting-init');
  });

  it('[§9 items 5, 6] a disconnect reports STOPPED(disconnect) and backs off 1 s', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'disconnected', at: 50, cause: 'EOF' });
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'disconnect' }]);
    expect(fx).toContainEqual({ type: 'close-socket' });
    expect(s.link).toEqual({ kind: 'backing-off', retryAt: 1050 });
    expect(counts(fx)).toContain('reconnect');
  });

  it('a disconnect of a guest that never heartbeated reports nothing', () => {
    const p = policy();
    const [, fx] = stepInstance(p, initialised(p), { type: 'disconnected', at: 50, cause: 'ECONNRESET' });
    expect(reports(fx)).toEqual([]);
  });

  it('channel removed: socket closed, STOPPED(channel-removed), no channel', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'channel-removed', at: 50 });
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'channel-removed' }]);
    expect(s.link.kind).toBe('no-channel');
    expect(nextDeadline(p, s)).toBeUndefined();
  });

  it('channel re-created under a live connection: close and connect anew', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'channel-found', at: 50 });
    expect(fx.filter((e) => e.type === 'close-socket' || e.type === 'connect')).toEqual([{ type: 'close-socket' }, { type: 'connect' }]);
    expect(s.link.kind).toBe('connecting');
  });

  it('[§9 items 7, 29a] no sign of life for 120 s on any connected channel: reconnect', () => {
    const p = policy();
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [s, fx] = stepInstance(p, s0, { type: 'tick', at: 120_000 });
    expect(fx.filter((e) => e.type === 'close-socket' || e.type === 'connect')).toEqual([{ type: 'close-socket' }, { type: 'connect' }]);
    expect(s.link.kind).toBe('connecting');
  });

  it('disabling instance reporting keeps the heartbeat running (no STOPPED)', () => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'set-reporting', at: 20, reporting: false });
    expect(reports(fx)).toEqual([]);
    expect(s.cycle.kind).toBe('cycling');
    expect(s.reporting).toBe(false);
  });

  it('a channel found again while connecting changes nothing; host-only message types are ignored', () => {
    const p = policy();
    const connecting = stepInstance(p, initialInstanceState(0), { type: 'channel-found', at: 0 })[0];
    expect(stepInstance(p, connecting, { type: 'channel-found', at: 1 })).toEqual([connecting, []]);
    const s0 = initialised(p);
    const challenge = { version: 3, revision: 1, msg_type: 'challenge', sequence: 1, heartbeat_challenge: 5 } as const;
    expect(stepInstance(p, s0, { type: 'message', at: 2, message: challenge })).toEqual([s0, []]);
  });

  it('a bad message is nacked with the last init invocation id; garbage without a nack text is dropped', () => {
    const p = policy();
    const [, fx] = stepInstance(p, initialised(p), { type: 'bad-message', at: 5, reason: 'version 2 < 3', nack: 'Bad version: 2, expect version: 3' });
    expect(fx).toContainEqual({ type: 'send', body: { msg_type: 'nack', sequence: 3, invocation_id: 77, log_msg: 'Bad version: 2, expect version: 3' } });
    const [, fx2] = stepInstance(p, initialised(p), { type: 'bad-message', at: 5, reason: 'not JSON', nack: undefined });
    expect(sends(fx2)).toEqual([]);
  });
});

