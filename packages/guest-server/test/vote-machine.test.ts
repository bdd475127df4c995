/** Pure tests of votes and notifications in the reducer (daemons §8, quirk decisions §9 items 9–13, 30). */
import { describe, expect, it } from 'vitest';
import { initialInstanceState, nextDeadline, stepInstance, type InstanceEffect } from '../src/index.js';
import { actionResponse, heartbeating, policy, reports, response, run, sends } from './helpers/machine.js';

describe('votes and notifications (daemons §8)', () => {
  const cases = [
    ['revocable', 'stop', 9000],
    ['revocable', 'resize_begin', 9000],
    ['irrevocable', 'stop', 8000],
    ['irrevocable', 'reboot', 8000],
    ['irrevocable', 'pause', 7000],
    ['irrevocable', 'suspend', 7000],
    ['irrevocable', 'resize_begin', 7000],
    ['irrevocable', 'live_migrate_begin', 7000],
    ['irrevocable', 'cold_migrate_begin', 7000],
    ['irrevocable', 'unpause', 6000],
    ['irrevocable', 'resume', 6000],
    ['irrevocable', 'resize_end', 6000],
    ['irrevocable', 'live_migrate_end', 6000],
    ['irrevocable', 'cold_migrate_end', 6000],
    ['irrevocable', 'unknown', 9000],
  ] as const;
  it.each(cases)('[§9 items 11, 13] %s %s → timeout_ms %i', (type, event, timeoutMs) => {
    const p = policy();
    const [s, fx] = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event, notificationType: type });
    expect(fx).toContainEqual({ type: 'send', body: { msg_type: 'action_notify', sequence: 3, invocation_id: 77, event_type: event, notification_type: type, timeout_ms: timeoutMs } });
    // [§9 item 12] the server's timer follows the notice's own length, plus a grace for transit.
    expect(s.vote).toEqual({ kind: 'pending', event, notificationType: type, timeoutMs, deadline: 100 + timeoutMs + 1000 });
  });

  it('a response is forwarded with its reason; the vote goes idle', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'stop', notificationType: 'revocable' })[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 200, message: actionResponse('stop', 'revocable', 'reject') });
    expect(reports(fx)).toEqual([{ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'reject', reason: 'because' }]);
    expect(s.vote.kind).toBe('idle');
    expect(s.cycle.kind).toBe('cycling');
  });

  it('[§9 item 9] an accepted revocable vote for suspend changes nothing; the challenges go on', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'suspend', notificationType: 'revocable' })[0];
    const [s] = stepInstance(p, s0, { type: 'message', at: 200, message: actionResponse('suspend', 'revocable', 'accept') });
    expect(s.cycle.kind).toBe('cycling');
    expect(s.heartbeating).toBe(true);
  });

  // pause, suspend and *_begin keep the session: departure-rules.test.ts.
  it.each(['reboot', 'stop'] as const)('an agreed irrevocable %s: STOPPED(suspend), wait for the guest to re-init', (event) => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event, notificationType: 'irrevocable' })[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 200, message: actionResponse(event, 'irrevocable', 'complete') });
    expect(reports(fx)).toEqual([
      { kind: 'vote-result', event, notificationType: 'irrevocable', vote: 'complete', reason: 'because' },
      { kind: 'stopped', reason: 'suspend' },
    ]);
    expect(s.cycle.kind).toBe('waiting-init');
  });

  it('invocation id mismatch: nack with the original text, nothing forwarded', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'stop', notificationType: 'revocable' })[0];
    const [s, fx] = stepInstance(p, s0, { type: 'message', at: 200, message: actionResponse('stop', 'revocable', 'accept', 5) });
    expect(fx).toContainEqual({ type: 'send', body: { msg_type: 'nack', sequence: 4, invocation_id: 77, log_msg: 'Invocation id mismatch. Received: 5 expect: 77' } });
    expect(reports(fx)).toEqual([]);
    expect(s.vote.kind).toBe('pending');
  });

  it('a response with no notice outstanding is dropped', () => {
    const p = policy();
    const [, fx] = stepInstance(p, heartbeating(p), { type: 'message', at: 200, message: actionResponse('stop', 'revocable', 'accept') });
    expect(reports(fx)).toEqual([]);
  });

  it('[§9 item 10] no response by timeout + grace: `timeout` is always reported, even while challenges flow', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'stop', notificationType: 'revocable' })[0];
    let s = s0;
    const all: InstanceEffect[] = [];
    for (let at = 1000; at <= 10_000; at += 1000) {
      const [s1, fx1] = stepInstance(p, s, { type: 'tick', at });
      const c = s1.cycle.kind === 'cycling' ? s1.cycle.challenge : -1;
      const [s2, fx2] = stepInstance(p, s1, { type: 'message', at: at + 1, message: response(c) });
      s = s2;
      all.push(...fx1, ...fx2);
    }
    expect(reports(all)).toEqual([]);
    expect(nextDeadline(p, s)).toBe(10_100);
    const [s3, fx3] = stepInstance(p, s, { type: 'tick', at: 10_100 });
    expect(reports(fx3)).toEqual([{ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'timeout', reason: 'no action_response within 9000 ms' }]);
    expect(s3.vote.kind).toBe('idle');
  });

  it('a new notice supersedes an outstanding one: the old one is reported as error', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'stop', notificationType: 'revocable' })[0];
    const [s, fx] = stepInstance(p, s0, { type: 'action', at: 200, event: 'reboot', notificationType: 'irrevocable' });
    expect(reports(fx)).toEqual([{ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'error', reason: 'superseded by irrevocable reboot' }]);
    expect(s.vote).toMatchObject({ event: 'reboot' });
  });

  it('[§9 item 30] a notice for a guest that cannot receive it is reported as error, not written anywhere', () => {
    const p = policy();
    const s0 = run(p, initialInstanceState(0), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }])[0];
    const [, fx] = stepInstance(p, s0, { type: 'action', at: 5, event: 'stop', notificationType: 'revocable' });
    expect(sends(fx)).toEqual([]);
    expect(reports(fx)).toEqual([{ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'error', reason: 'guest not initialised' }]);
  });

  it('[§8.5] resume while backing off reconnects at once, and the notice waits for the guest\'s init', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'disconnected', at: 50, cause: 'EOF' })[0];
    const [s, fx] = stepInstance(p, s0, { type: 'action', at: 60, event: 'resume', notificationType: 'irrevocable' });
    expect(fx).toContainEqual({ type: 'connect' });
    expect(s.link.kind).toBe('connecting');
    expect(reports(fx)).toEqual([]);
    expect(s.vote).toEqual({ kind: 'pending', event: 'resume', notificationType: 'irrevocable', timeoutMs: 6000, deadline: 60 + 6000 + 1000, held: true });
  });

  it('a disconnect with a notice outstanding reports it as error', () => {
    const p = policy();
    const s0 = stepInstance(p, heartbeating(p), { type: 'action', at: 100, event: 'stop', notificationType: 'revocable' })[0];
    const [, fx] = stepInstance(p, s0, { type: 'disconnected', at: 150, cause: 'EPIPE' });
    expect(reports(fx)).toContainEqual({ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'error', reason: 'channel disconnect' });
  });
});
