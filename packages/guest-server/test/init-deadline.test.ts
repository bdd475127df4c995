/**
 * Issue 12 items 2 and 7, pure: a guest that was heartbeating and sends no init within the deadline after a
 * restart or reconnect is lost with its own action; the deadline ends with an init, an exit or the channel
 * going away; a restored vote ends as `error`; `lost` marks the condition `failed`.
 */
import { describe, expect, it } from 'vitest';
import { initialInstanceState, nextDeadline, stepInstance, type InstanceState } from '../src/index.js';
import { DEFAULT_GUEST_PARAMS } from '../src/instance-state.js';
import { initDeadlineMs, type RestoredKnowledge } from '../src/init-deadline.js';
import { conditionOf, knowledgeChanged, knowledgeOf, parseKnowledge, restoredKnowledge } from '../src/instance-knowledge.js';
import { INIT, counts, heartbeating, policy, reports, response, run, sends } from './helpers/machine.js';

const PARAMS = { ...DEFAULT_GUEST_PARAMS, invocationId: 77, name: 'vm', correctiveAction: 'reboot' as const, intervalMs: 1_000 };
const knowledge = (patch: Partial<RestoredKnowledge> = {}): RestoredKnowledge => ({
  params: PARAMS, reporting: true, heartbeating: true, awaitingInit: false, lost: undefined, vote: undefined, departure: undefined, ...patch,
});

function restored(patch: Partial<RestoredKnowledge> = {}, p = policy({ initDeadlineMs: 20_000 })): [InstanceState, ReturnType<typeof reports>] {
  const [s, fx] = stepInstance(p, initialInstanceState(1_000), { type: 'restored', at: 1_000, knowledge: knowledge(patch) });
  return [s, reports(fx)];
}

describe('init deadline', () => {
  it('derives the default from the guest client timers: max(2 × interval, 5 s) + 3 × 5 s', () => {
    expect(initDeadlineMs(policy(), PARAMS)).toBe(20_000);
    expect(initDeadlineMs(policy(), { ...PARAMS, intervalMs: 10_000 })).toBe(35_000);
    expect(initDeadlineMs(policy({ initDeadlineMs: 3_000 }), PARAMS)).toBe(3_000);
  });

  it('[12.2] restored heartbeating, channel back but no init: loss with the guest’s own action at the deadline', () => {
    const p = policy({ initDeadlineMs: 20_000 });
    const [s0] = restored({}, p);
    expect(s0.initDeadline).toBe(21_000);
    expect(conditionOf(s0).condition).toBe('waiting-init');
    let [s, fx] = run(p, s0, [{ type: 'channel-found', at: 2_000 }, { type: 'connected', at: 2_100 }]);
    expect(nextDeadline(p, s)).toBe(21_000);
    [s, fx] = run(p, s, [{ type: 'tick', at: 21_000 }]);
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'loss' }, { kind: 'loss', correctiveAction: 'reboot' }]);
    expect(counts(fx)).toContain('loss');
    expect(s.heartbeating).toBe(false);
    expect(s.initDeadline).toBeUndefined();
    expect(conditionOf(s)).toEqual({ condition: 'failed', lossAction: 'reboot' });
  });

  it('[12.2] an init before the deadline ends it; no loss, no second running', () => {
    const p = policy({ initDeadlineMs: 20_000 });
    const [s0] = restored({}, p);
    const [s, fx] = run(p, s0, [
      { type: 'channel-found', at: 2_000 }, { type: 'connected', at: 2_000 }, { type: 'message', at: 5_000, message: INIT },
      { type: 'message', at: 5_010, message: response(101) }, { type: 'tick', at: 30_000 },
    ]);
    expect(sends(fx)).toContain('init_ack');
    expect(reports(fx).filter((r) => (r as { kind: string }).kind === 'loss')).toEqual([]);
    expect(s.initDeadline).toBeUndefined();
    expect(conditionOf(s).condition).toBe('healthy');
  });

  it('[12.2] reporting gates: no loss report when the instance or the host is not reporting, but the condition is failed', () => {
    for (const [p, patch] of [[policy({ initDeadlineMs: 1_000, hostReporting: false }), {}], [policy({ initDeadlineMs: 1_000 }), { reporting: false }]] as const) {
      const [s0] = restored(patch, p);
      const [s, fx] = run(p, s0, [{ type: 'channel-found', at: 1_000 }, { type: 'connected', at: 1_000 }, { type: 'tick', at: 2_000 }]);
      expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'loss' }]);
      expect(conditionOf(s).condition).toBe('failed');
    }
  });

  it('[12.2] the channel file gone (VM deleted or moved meanwhile) ends the wait without a loss', () => {
    const p = policy({ initDeadlineMs: 1_000 });
    const [s0] = restored({}, p);
    const [s, fx] = run(p, s0, [{ type: 'channel-removed', at: 1_500 }, { type: 'tick', at: 5_000 }]);
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'channel-removed' }]);
    expect(s.initDeadline).toBeUndefined();
    expect(nextDeadline(p, s)).toBeUndefined();
  });

  it('[12.2] no deadline counts while no channel is known (the start-up scan decides)', () => {
    const p = policy({ initDeadlineMs: 1_000 });
    const [s0] = restored({}, p);
    expect(nextDeadline(p, s0)).toBeUndefined();
    const [, fx] = run(p, s0, [{ type: 'tick', at: 9_000 }]);
    expect(reports(fx)).toEqual([]);
  });

  it('[12.2] a reconnect of a heartbeating guest arms the deadline; a hung guest is then lost', () => {
    const p = policy({ initDeadlineMs: 10_000 });
    const hb = heartbeating(p);
    let [s, fx] = run(p, hb, [{ type: 'disconnected', at: 500, cause: 'EOF' }]);
    expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'disconnect' }]);
    expect(s.initDeadline).toBe(10_500);
    expect(conditionOf(s).condition).toBe('waiting-init');
    // Flapping does not postpone it.
    [s] = run(p, s, [{ type: 'tick', at: 1_500 }, { type: 'connected', at: 1_600 }, { type: 'disconnected', at: 1_700, cause: 'EOF' }]);
    expect(s.initDeadline).toBe(10_500);
    [s, fx] = run(p, s, [{ type: 'tick', at: 10_500 }]);
    expect(reports(fx)).toEqual([{ kind: 'loss', correctiveAction: 'reboot' }]);
  });

  it('[12.2] a graceful exit or an idle guest that never heartbeated arms nothing', () => {
    const p = policy({ initDeadlineMs: 1_000 });
    const exit = { version: 3, revision: 1, msg_type: 'exit', sequence: 9, log_msg: 'bye' } as const;
    const [s] = run(p, heartbeating(p), [{ type: 'message', at: 20, message: exit }, { type: 'disconnected', at: 30, cause: 'EOF' }]);
    expect(s.initDeadline).toBeUndefined();
    const [idle] = run(p, initialInstanceState(0, true), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }, { type: 'disconnected', at: 5, cause: 'EOF' }]);
    expect(idle.initDeadline).toBeUndefined();
  });

  it('a guest paused or migrating when the server died is expected away: restored with its departure, no deadline', () => {
    const p = policy({ initDeadlineMs: 1_000 });
    const [s0] = restored({ departure: { event: 'pause', kind: 'parked' } }, p);
    expect(s0.initDeadline).toBeUndefined();
    expect(s0.departure).toEqual({ event: 'pause', kind: 'parked', since: 1_000 });
    const [, fx] = run(p, s0, [{ type: 'channel-found', at: 1_000 }, { type: 'connected', at: 1_000 }, { type: 'tick', at: 60_000 }]);
    expect(reports(fx).filter((r) => (r as { kind: string }).kind === 'loss')).toEqual([]);
  });

  it('[12.7] a vote outstanding when the server died ends as error after the restart', () => {
    const [, rs] = restored({ vote: { event: 'stop', notificationType: 'revocable' } });
    expect(rs).toEqual([{ kind: 'vote-result', event: 'stop', notificationType: 'revocable', vote: 'error', reason: 'guest-server restarted while the notice was outstanding' }]);
  });

  it('restores a lost guest as failed and one reconnecting as waiting-init', () => {
    expect(conditionOf(restored({ heartbeating: false, lost: 'stop' })[0])).toEqual({ condition: 'failed', lossAction: 'stop' });
    const [s] = restored({ heartbeating: false, awaitingInit: true });
    expect(s.initDeadline).toBeDefined();
    const [quiet] = restored({ heartbeating: false });
    expect(quiet.initDeadline).toBeUndefined();
    expect(conditionOf(quiet).condition).toBe('disconnected');
  });

  it('a normal loss also marks the condition failed until the next init', () => {
    const p = policy();
    const [lost] = run(p, heartbeating(p), [{ type: 'tick', at: 1_000 }, { type: 'tick', at: 2_000 }, { type: 'tick', at: 3_000 }]);
    expect(conditionOf(lost)).toEqual({ condition: 'failed', lossAction: 'reboot' });
    const [back] = run(p, lost, [{ type: 'message', at: 4_000, message: INIT }]);
    expect(back.lost).toBeUndefined();
  });
});

describe('instance knowledge record', () => {
  it('round-trips through the schema and back into the reducer', () => {
    const p = policy();
    const s = heartbeating(p);
    const record = knowledgeOf(s, true, { condition: 'healthy', sinceMs: 5, eventId: 'b-3' });
    const parsed = parseKnowledge(JSON.parse(JSON.stringify(record)));
    expect(parsed).toEqual(record);
    expect(restoredKnowledge(record)).toEqual({ params: s.params, reporting: true, heartbeating: true, awaitingInit: false, lost: undefined, vote: undefined, departure: undefined });
    expect(parseKnowledge({ ...record, v: 2 })).toBeUndefined();
    expect(parseKnowledge({ ...record, params: { ...record.params, correctiveAction: 'explode' } })).toBeUndefined();
  });

  it('the hot path changes nothing worth writing; an init, a stop or a reporting change does', () => {
    const p = policy();
    const s = heartbeating(p);
    const [challenged] = run(p, s, [{ type: 'tick', at: 1_000 }]);
    const [answered] = run(p, challenged, [{ type: 'message', at: 1_010, message: response(102) }]);
    expect(knowledgeChanged(s, challenged)).toBe(false);
    expect(knowledgeChanged(challenged, answered)).toBe(false);
    const [stopped] = run(p, s, [{ type: 'disconnected', at: 20, cause: 'EOF' }]);
    expect(knowledgeChanged(s, stopped)).toBe(true);
    const [quiet] = run(p, s, [{ type: 'set-reporting', at: 20, reporting: false }]);
    expect(knowledgeChanged(s, quiet)).toBe(true);
  });
});
