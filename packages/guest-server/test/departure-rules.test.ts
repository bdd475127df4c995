/**
 * Pure tests of departure and return (issue 14 item 2; README "Departure and return"): what an agreed
 * irrevocable notice means per event, and how notices reach a guest that is away or coming back.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { EventType, WireBody } from '@guesthb/protocol';
import { nextDeadline, stepInstance, type InstanceEffect, type InstanceState } from '../src/index.js';
import { departureOf, holdsNotice } from '../src/vote-rules.js';
import { INIT, actionResponse, heartbeating, initialised, policy, reports, response, run, sends } from './helpers/machine.js';

// A fresh policy per test: its challenge counter starts at 101 (the fixtures answer 101).
let p = policy();
beforeEach(() => { p = policy(); });
const notices = (fx: readonly InstanceEffect[]): WireBody[] => fx.flatMap((e) => (e.type === 'send' && e.body.msg_type === 'action_notify' ? [e.body] : []));

/** Heartbeating, then `event` notified (t=100) and answered complete (t=200). */
function departed(event: EventType): [InstanceState, InstanceEffect[]] {
  return run(p, heartbeating(p), [
    { type: 'action', at: 100, event, notificationType: 'irrevocable' },
    { type: 'message', at: 200, message: actionResponse(event, 'irrevocable', 'complete') },
  ]);
}

describe('departure rules (vote-rules)', () => {
  it.each([
    ['stop', 'leaving'], ['reboot', 'leaving'], ['pause', 'parked'], ['suspend', 'parked'],
    ['resize_begin', 'moving'], ['live_migrate_begin', 'moving'], ['cold_migrate_begin', 'moving'],
    ['unpause', undefined], ['resume', undefined], ['resize_end', undefined], ['live_migrate_end', undefined], ['cold_migrate_end', undefined], ['unknown', undefined],
  ] as const)('%s → %s', (event, kind) => {
    expect(departureOf(event)).toBe(kind);
  });

  it.each(['unpause', 'resume', 'resize_end', 'live_migrate_end', 'cold_migrate_end'] as const)('a %s notice is held for a guest that has not initialised', (event) => {
    expect(holdsNotice(event, false)).toBe(true);
  });

  it('other notices are held only while the guest is away after a departure', () => {
    expect(holdsNotice('stop', false)).toBe(false);
    expect(holdsNotice('stop', true)).toBe(true);
  });
});

describe('parked: pause and suspend keep the session', () => {
  it.each(['pause', 'suspend'] as const)('an agreed %s: no STOPPED, heartbeating kept, challenges stop', (event) => {
    const [s, fx] = departed(event);
    expect(reports(fx)).toEqual([{ kind: 'vote-result', event, notificationType: 'irrevocable', vote: 'complete', reason: 'because' }]);
    expect(s.heartbeating).toBe(true);
    expect(s.cycle.kind).toBe('waiting-init');
    expect(s.departure).toEqual({ event, kind: 'parked', since: 200 });
    // Nothing is due but the 120 s idle audit: no challenge, so no miss and no loss while frozen.
    expect(nextDeadline(p, s)).toBe(10 + p.reconnectIdleMs);
  });

  it('a rejected or revocable pause changes nothing', () => {
    const [s] = run(p, heartbeating(p), [
      { type: 'action', at: 100, event: 'pause', notificationType: 'irrevocable' },
      { type: 'message', at: 200, message: actionResponse('pause', 'irrevocable', 'reject') },
      { type: 'action', at: 300, event: 'pause', notificationType: 'revocable' },
      { type: 'message', at: 400, message: actionResponse('pause', 'revocable', 'accept') },
    ]);
    expect(s.departure).toBeUndefined();
    expect(s.cycle.kind).toBe('cycling');
  });

  it('unpause goes to the paused guest at once over the same socket, and its answer is reported', () => {
    const [s0] = departed('pause');
    const [s1, fx1] = stepInstance(p, s0, { type: 'action', at: 5000, event: 'unpause', notificationType: 'irrevocable' });
    expect(notices(fx1)).toEqual([expect.objectContaining({ event_type: 'unpause', invocation_id: 77, timeout_ms: 6000 })]);
    expect(reports(fx1)).toEqual([]);
    const [s2, fx2] = stepInstance(p, s1, { type: 'message', at: 5100, message: actionResponse('unpause', 'irrevocable', 'complete') });
    expect(reports(fx2)).toEqual([{ kind: 'vote-result', event: 'unpause', notificationType: 'irrevocable', vote: 'complete', reason: 'because' }]);
    expect(s2.vote.kind).toBe('idle');
  });

  it('a guest that re-inits before answering gets the notice again, with its new invocation id', () => {
    const [s0] = departed('pause');
    const [s1] = stepInstance(p, s0, { type: 'action', at: 5000, event: 'unpause', notificationType: 'irrevocable' });
    const [s2, fx2] = stepInstance(p, s1, { type: 'message', at: 8000, message: { ...INIT, invocation_id: 78 } });
    expect(sends(fx2)).toEqual(['init_ack', 'challenge', 'action_notify']);
    // 5000 + 6000 ms of notice − 8000 = 3000 ms left.
    expect(notices(fx2)).toEqual([expect.objectContaining({ event_type: 'unpause', invocation_id: 78, timeout_ms: 3000 })]);
    expect(s2.departure).toBeUndefined();
    const [, fx3] = stepInstance(p, s2, { type: 'message', at: 8100, message: actionResponse('unpause', 'irrevocable', 'complete', 78) });
    expect(reports(fx3)).toContainEqual(expect.objectContaining({ event: 'unpause', vote: 'complete' }));
  });

  it('suspend: the channel goes (QEMU exits) without STOPPED; resume is held, reconnects, and is delivered after the init', () => {
    const [s0] = departed('suspend');
    const [s1, fx1] = run(p, s0, [{ type: 'disconnected', at: 300, cause: 'EOF' }, { type: 'channel-removed', at: 310 }]);
    expect(reports(fx1)).toEqual([]);
    expect(s1.heartbeating).toBe(true);
    const [s2, fx2] = run(p, s1, [{ type: 'channel-found', at: 60_000 }, { type: 'action', at: 60_010, event: 'resume', notificationType: 'irrevocable' }, { type: 'connected', at: 60_020 }]);
    expect(notices(fx2)).toEqual([]);
    expect(reports(fx2)).toEqual([]);
    expect(s2.vote).toMatchObject({ kind: 'pending', event: 'resume', held: true, deadline: 60_010 + 6000 + 1000 });
    const [s3, fx3] = stepInstance(p, s2, { type: 'message', at: 64_010, message: { ...INIT, invocation_id: 80 } });
    expect(notices(fx3)).toEqual([expect.objectContaining({ event_type: 'resume', invocation_id: 80, timeout_ms: 2000 })]);
    const [s4, fx4] = stepInstance(p, s3, { type: 'message', at: 64_100, message: actionResponse('resume', 'irrevocable', 'complete', 80) });
    expect(reports(fx4)).toEqual([{ kind: 'vote-result', event: 'resume', notificationType: 'irrevocable', vote: 'complete', reason: 'because' }]);
    expect(s4.heartbeating).toBe(true);
  });

  it('a held notice that expires is a timeout, ends the departure, and reports STOPPED', () => {
    const [s0] = run(p, departed('suspend')[0], [{ type: 'disconnected', at: 300, cause: 'EOF' }]);
    const [s1] = stepInstance(p, s0, { type: 'action', at: 1000, event: 'stop', notificationType: 'irrevocable' });
    expect(s1.vote).toMatchObject({ held: true, deadline: 1000 + 8000 + 1000 });
    expect(nextDeadline(p, s1)).toBeLessThanOrEqual(10_000);
    const [s2, fx2] = run(p, s1, [{ type: 'tick', at: 9_999 }, { type: 'tick', at: 10_000 }]);
    expect(reports(fx2)).toEqual([
      { kind: 'vote-result', event: 'stop', notificationType: 'irrevocable', vote: 'timeout', reason: 'guest did not initialise within 8000 ms' },
      { kind: 'stopped', reason: 'suspend' },
    ]);
    expect(s2.departure).toBeUndefined();
    expect(s2.heartbeating).toBe(false);
  });

  it('exit from a departed guest is a real stop', () => {
    const [s0] = departed('pause');
    const [s1, fx1] = stepInstance(p, s0, { type: 'message', at: 300, message: { version: 3, revision: 1, msg_type: 'exit', sequence: 9, log_msg: 'Exiting...' } });
    expect(reports(fx1)).toEqual([{ kind: 'stopped', reason: 'exit' }]);
    expect(s1.departure).toBeUndefined();
  });
});

describe('moving: resize and migrations run until the switch-over', () => {
  it.each(['live_migrate_begin', 'cold_migrate_begin', 'resize_begin'] as const)('%s: challenges go on; silence then is no loss; the channel going is no STOPPED', (event) => {
    const [s0, fx0] = departed(event);
    expect(reports(fx0)).toHaveLength(1);                                    // the vote result only
    expect(s0.cycle.kind).toBe('cycling');
    expect(s0.departure).toMatchObject({ event, kind: 'moving' });
    // The guest still answers the challenge due at t=1000 …
    const [s1] = run(p, s0, [{ type: 'tick', at: 1000 }]);
    const c = s1.cycle.kind === 'cycling' ? s1.cycle.challenge : -1;
    const [s2, fx2] = run(p, s1, [{ type: 'message', at: 1001, message: response(c) }]);
    expect(reports(fx2)).toEqual([]);
    // … then the switch-over: silence for threshold + 1 intervals, then EOF.
    const [s3, fx3] = run(p, s2, [{ type: 'tick', at: 2000 }, { type: 'tick', at: 3000 }, { type: 'tick', at: 4000 }, { type: 'disconnected', at: 4500, cause: 'EOF' }]);
    expect(reports(fx3)).toEqual([]);
    expect(fx3.some((e) => e.type === 'count' && e.name === 'loss')).toBe(false);
    expect(s3.heartbeating).toBe(true);
    expect(s3.cycle.kind).toBe('waiting-init');
  });

  it('cold_migrate_begin: the guest\'s exit (the VM powers off) is part of the move; cold_migrate_end waits for its init', () => {
    const [s0] = departed('cold_migrate_begin');
    const [s1, fx1] = stepInstance(p, s0, { type: 'message', at: 300, message: { version: 3, revision: 1, msg_type: 'exit', sequence: 9, log_msg: 'Exiting...' } });
    expect(reports(fx1)).toEqual([]);
    expect(s1.heartbeating).toBe(true);
    expect(s1.cycle.kind).toBe('waiting-init');
    const [s2, fx2] = stepInstance(p, s1, { type: 'action', at: 400, event: 'cold_migrate_end', notificationType: 'irrevocable' });
    expect(notices(fx2)).toEqual([]);
    expect(s2.vote).toMatchObject({ held: true });
    const [, fx3] = stepInstance(p, s2, { type: 'message', at: 2400, message: { ...INIT, invocation_id: 91 } });
    expect(notices(fx3)).toEqual([expect.objectContaining({ event_type: 'cold_migrate_end', invocation_id: 91, timeout_ms: 4000 })]);
  });
});

describe('return notices reach a guest that has not initialised yet', () => {
  it('live_migrate_end on the destination before the guest re-inits there: held, then delivered after the init', () => {
    const [s0] = run(p, initialised(p), []);
    const connectedOnly = { ...s0, cycle: { kind: 'waiting-init' as const } };
    const [s1, fx1] = stepInstance(p, connectedOnly, { type: 'action', at: 100, event: 'live_migrate_end', notificationType: 'irrevocable' });
    expect(notices(fx1)).toEqual([]);
    expect(reports(fx1)).toEqual([]);
    const [, fx2] = stepInstance(p, s1, { type: 'message', at: 3000, message: { ...INIT, invocation_id: 90 } });
    expect(notices(fx2)).toEqual([expect.objectContaining({ event_type: 'live_migrate_end', invocation_id: 90, timeout_ms: 3100 })]);
  });
});
