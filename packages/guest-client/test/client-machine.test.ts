/** The client state machine, row by row of client §6 and §7, as pure steps (no clock, no I/O). */
import { describe, expect, it } from 'vitest';
import type { WireMessage } from '@guesthb/protocol';
import {
  ACTION_TIMEOUT_LOG, DEFAULT_CLIENT_CONFIG, initialClientModel, stepClient,
  type ClientConfig, type ClientEffect, type ClientEvent, type ClientModel, type ClientPolicy,
} from '../src/index.js';

type EventBody = ClientEvent extends infer E ? (E extends unknown ? Omit<E, 'at'> : never) : never;

function policy(overrides: Partial<ClientPolicy> = {}, config: Partial<ClientConfig> = {}): ClientPolicy {
  let id = 100;
  return {
    name: 'vm', config: { ...DEFAULT_CLIENT_CONFIG, ...config }, hasHealthCheck: false, hasEventHandler: false,
    nextInvocationId: () => ++id, ...overrides,
  };
}

/** Runs events in order; returns the final model and every effect. */
function run(p: ClientPolicy, events: [number, EventBody][], model: ClientModel = initialClientModel()): { model: ClientModel; effects: ClientEffect[] } {
  const effects: ClientEffect[] = [];
  let m = model;
  for (const [at, e] of events) {
    const [next, out] = stepClient(p, m, { ...e, at } as ClientEvent);
    m = next;
    effects.push(...out);
  }
  return { model: m, effects };
}

const sent = (effects: readonly ClientEffect[]): WireMessage[] =>
  effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));

/** channel-up, then an ack of whatever id the init carried: the model in `enabled`. */
function enabled(p: ClientPolicy, at = 0): ClientModel {
  const up = run(p, [[0, { type: 'channel-up' }]]);
  const init = sent(up.effects)[0];
  const id = init?.msg_type === 'init' ? init.invocation_id : -1;
  return run(p, [[at, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: id } }]], up.model).model;
}

const challenge = (value: number): EventBody => ({ type: 'message', message: { version: 3, revision: 1, msg_type: 'challenge', sequence: 1, heartbeat_challenge: value } });
const notify = (invocationId: number, timeoutMs = 10_000): EventBody => ({
  type: 'message',
  message: { version: 3, revision: 1, msg_type: 'action_notify', sequence: 1, invocation_id: invocationId, event_type: 'stop', notification_type: 'revocable', timeout_ms: timeoutMs },
});

describe('initial', () => {
  it('arms the 1 s release, then enters enabling and sends init with every *_secs + 1', () => {
    const p = policy({}, { voteSecs: 8, restartSecs: 600 });
    const start = run(p, [[0, { type: 'start' }]]);
    expect(start.effects).toEqual([{ type: 'set-timer', timer: 'release', delayMs: 1000 }]);
    const { model, effects } = run(p, [[1000, { type: 'timer', timer: 'release' }]], start.model);
    expect(model.state.kind).toBe('enabling');
    expect(sent(effects)).toEqual([{
      version: 3, revision: 1, msg_type: 'init', sequence: 1, invocation_id: 101, name: 'vm', heartbeat_interval_ms: 1000,
      vote_secs: 9, shutdown_notice_secs: 11, suspend_notice_secs: 11, resume_notice_secs: 11, restart_secs: 601, corrective_action: 'reboot',
    }]);
    expect(effects).toContainEqual({ type: 'set-timer', timer: 'init-retry', delayMs: 5000 });
  });

  it('goes to enabling on channel-up and to disabled on channel-down, ignoring anything else', () => {
    const p = policy();
    expect(run(p, [[0, { type: 'start' }], [5, { type: 'channel-up' }]]).model.state.kind).toBe('enabling');
    const down = run(p, [[0, { type: 'start' }], [5, { type: 'channel-down' }]]);
    expect(down.model.state.kind).toBe('disabled');
    expect(down.effects).toContainEqual({ type: 'clear-timer', timer: 'release' });
    const ignored = run(p, [[0, challenge(5)], [0, { type: 'timer', timer: 'init-retry' }]]);
    expect(ignored.model.state.kind).toBe('initial');
    expect(sent(ignored.effects)).toEqual([]);
  });
});

describe('enabling', () => {
  it('resends init every HB_INIT_RETRY with a new id and accepts an ack of the newest or the previous one', () => {
    const p = policy({}, { initRetryMs: 3000 });
    const { model, effects } = run(p, [[0, { type: 'channel-up' }], [3000, { type: 'timer', timer: 'init-retry' }], [6000, { type: 'timer', timer: 'init-retry' }]]);
    expect(sent(effects).map((m) => (m.msg_type === 'init' ? m.invocation_id : -1))).toEqual([101, 102, 103]);
    expect(sent(effects).map((m) => m.sequence)).toEqual([1, 2, 3]);
    expect(effects.filter((e) => e.type === 'set-timer')).toHaveLength(3);
    const ack = (id: number): EventBody => ({ type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: id } });
    expect(run(p, [[7000, ack(101)]], model).model.state.kind).toBe('enabling');       // too old: ignored
    expect(run(p, [[7000, ack(102)]], model).model.state.kind).toBe('enabled');        // the previous one
    expect(run(p, [[7000, ack(103)]], model).model.state.kind).toBe('enabled');        // the newest
  });

  it('does not answer challenges or votes before init_ack, except action_notify with "complete"', () => {
    const p = policy({ hasEventHandler: true });
    const { effects } = run(p, [[0, { type: 'channel-up' }], [10, challenge(7)], [20, notify(55)]]);
    const out = sent(effects);
    expect(out.map((m) => m.msg_type)).toEqual(['init', 'action_response']);
    expect(out[1]).toMatchObject({ invocation_id: 55, vote_result: 'complete', log_msg: '' });
  });

  it('shutdown goes back to initial without an exit message; channel-down to disabled', () => {
    const p = policy();
    const shut = run(p, [[0, { type: 'channel-up' }], [10, { type: 'shutdown' }]]);
    expect(shut.model.state.kind).toBe('initial');
    expect(sent(shut.effects).map((m) => m.msg_type)).toEqual(['init']);
    expect(shut.effects).toContainEqual({ type: 'clear-timer', timer: 'init-retry' });
    expect(run(p, [[0, { type: 'channel-up' }], [10, { type: 'channel-down' }]]).model.state.kind).toBe('disabled');
  });
});

describe('enabled', () => {
  it('echoes challenges at once with the configured action, healthy, and an empty log before any script run', () => {
    const p = policy({}, { correctiveAction: 'stop' });
    const { effects } = run(p, [[1, challenge(2147483647)]], enabled(p));
    expect(sent(effects)).toEqual([{
      version: 3, revision: 1, msg_type: 'challenge_response', sequence: 2, heartbeat_response: 2147483647,
      heartbeat_health: 'healthy', corrective_action: 'stop', log_msg: '',
    }]);
  });

  it('times out max(2 × HB_INTERVAL, HB_MIN_TIMEOUT) after the last challenge and re-inits at once', () => {
    const p = policy({}, { heartbeatIntervalMs: 4000 });
    const m = enabled(p, 0);
    const armed = run(policy({}, { heartbeatIntervalMs: 4000 }), [[0, { type: 'channel-up' }], [0, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: 101 } }]]);
    expect(armed.effects).toContainEqual({ type: 'set-timer', timer: 'challenge-timeout', delayMs: 8000 });
    const early = run(p, [[3000, challenge(1)], [8000, { type: 'timer', timer: 'challenge-timeout' }]], m);
    expect(early.model.state.kind).toBe('enabled');
    expect(early.effects).toContainEqual({ type: 'set-timer', timer: 'challenge-timeout', delayMs: 3000 });
    const late = run(p, [[11_000, { type: 'timer', timer: 'challenge-timeout' }]], early.model);
    expect(late.model.state.kind).toBe('enabling');
    expect(sent(late.effects).map((m) => m.msg_type)).toEqual(['init']);
    expect(late.effects).toContainEqual({ type: 'clear-timer', timer: 'challenge-timeout' });
    expect(late.effects).toContainEqual({ type: 'state-changed', from: 'enabled', to: 'enabling', event: 'challenge-timeout' });
  });

  it('does not declare a timeout right after a scheduling delay of ≥ 800 ms (descheduled VM)', () => {
    const p = policy();
    const m = enabled(p, 0);
    const late = run(p, [[5000, { type: 'timer', timer: 'challenge-timeout', lateMs: 0 }]], m);
    expect(late.model.state.kind).toBe('enabling');
    const paused = run(p, [[2000, { type: 'timer', timer: 'health-check', lateMs: 900 }], [5000, { type: 'timer', timer: 'challenge-timeout', lateMs: 0 }]], m);
    expect(paused.model.state.kind).toBe('enabled');
    expect(paused.effects).toContainEqual({ type: 'set-timer', timer: 'challenge-timeout', delayMs: 5000 });
    expect(paused.effects).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', msg: 'not scheduling on time' }));
    expect(run(p, [[7001, { type: 'timer', timer: 'challenge-timeout', lateMs: 0 }]], paused.model).model.state.kind).toBe('enabling');
  });

  it('uses the 5 s floor when 2 × interval is smaller', () => {
    const p = policy({}, { heartbeatIntervalMs: 1000 });
    const r = run(p, [[0, { type: 'channel-up' }], [0, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: 101 } }]]);
    expect(r.effects).toContainEqual({ type: 'set-timer', timer: 'challenge-timeout', delayMs: 5000 });
  });

  it('runs the health check every interval and reports its verdict and log; unhealthy repeats say "none" for 60 s', () => {
    const p = policy({ hasHealthCheck: true }, { healthCheckIntervalSecs: 30 });
    const entered = run(p, [[0, { type: 'channel-up' }], [0, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: 101 } }]]);
    expect(entered.effects).toContainEqual({ type: 'set-timer', timer: 'health-check', delayMs: 30_000 });
    const tick = run(p, [[30_000, { type: 'timer', timer: 'health-check' }]], entered.model);
    expect(tick.effects).toEqual([{ type: 'run-health-check' }, { type: 'set-timer', timer: 'health-check', delayMs: 30_000 }]);
    const r = run(p, [
      [30_001, { type: 'health-result', health: 'unhealthy', log: 'File /tmp/unhealthy exists.\n' }],
      [31_000, challenge(1)], [32_000, challenge(2)], [90_999, challenge(3)], [91_000, challenge(4)],
      [91_500, { type: 'health-result', health: 'healthy', log: 'ok' }], [92_000, challenge(5)],
    ], tick.model);
    expect(sent(r.effects).map((m) => (m.msg_type === 'challenge_response' ? [m.heartbeat_health, m.corrective_action, m.log_msg] : []))).toEqual([
      ['unhealthy', 'reboot', 'File /tmp/unhealthy exists. '],
      ['unhealthy', 'none', 'File /tmp/unhealthy exists. '],
      ['unhealthy', 'none', 'File /tmp/unhealthy exists. '],
      ['unhealthy', 'reboot', 'File /tmp/unhealthy exists. '],
      ['healthy', 'reboot', 'ok'],
    ]);
  });

  it('a forced (simulator) verdict overrides the script and a new action is reported at once', () => {
    const p = policy();
    const r = run(p, [
      [1, { type: 'health-override', override: { health: 'unhealthy', action: 'log', log: 'sim' } }], [2, challenge(1)],
      [3, { type: 'health-override', override: { health: 'unhealthy', action: 'stop', log: 'sim' } }], [4, challenge(2)], [5, challenge(3)],
      [6, { type: 'health-override', override: undefined }], [7, challenge(4)],
    ], enabled(p));
    expect(sent(r.effects).map((m) => (m.msg_type === 'challenge_response' ? `${m.heartbeat_health}/${m.corrective_action}` : ''))).toEqual([
      'unhealthy/log', 'unhealthy/stop', 'unhealthy/none', 'healthy/reboot',
    ]);
  });

  it('resets health to healthy on entering enabled', () => {
    const p = policy({ hasHealthCheck: true }, { healthCheckIntervalSecs: 1 });
    const sick = run(p, [[1, { type: 'health-result', health: 'unhealthy', log: 'x' }], [2, { type: 'channel-down' }], [3, { type: 'channel-up' }],
      [4, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: 102 } }], [5, challenge(9)]], enabled(p));
    expect(sent(sick.effects).at(-1)).toMatchObject({ heartbeat_health: 'healthy', log_msg: 'x' });
    expect(sick.effects).toContainEqual({ type: 'stop-health-check' });
  });

  it('logs a nack and changes nothing', () => {
    const p = policy();
    const m = enabled(p);
    const r = run(p, [[1, { type: 'message', message: { version: 3, revision: 1, msg_type: 'nack', sequence: 1, invocation_id: 4, log_msg: 'bad' } }]], m);
    expect(r.model).toEqual(m);
    expect(r.effects).toEqual([{ type: 'log', level: 'error', msg: 'Heartbeat Nack message received', fields: { invocationId: 4, logMsg: 'bad' } }]);
  });

  it('sends exit on shutdown and stops every timer', () => {
    const p = policy();
    const r = run(p, [[1, { type: 'shutdown' }]], enabled(p));
    expect(sent(r.effects)).toEqual([{ version: 3, revision: 1, msg_type: 'exit', sequence: 2, log_msg: 'Exiting...' }]);
    expect(r.model.state.kind).toBe('initial');
    expect(r.effects).toContainEqual({ type: 'clear-timer', timer: 'challenge-timeout' });
  });
});

describe('action_notify in enabled (client §7)', () => {
  it('answers "complete" at once when no event handler exists', () => {
    const p = policy();
    const r = run(p, [[1, notify(7)]], enabled(p));
    expect(sent(r.effects)).toEqual([{
      version: 3, revision: 1, msg_type: 'action_response', sequence: 2, invocation_id: 7, event_type: 'stop',
      notification_type: 'revocable', vote_result: 'complete', log_msg: '',
    }]);
  });

  it('runs the handler with the deadline timeout_ms − 1000 (or timeout_ms when ≤ 1000)', () => {
    const p = policy({ hasEventHandler: true });
    const r = run(p, [[1, notify(7, 4000)]], enabled(p));
    expect(r.effects).toEqual([
      { type: 'run-event-handler', invocationId: 7, eventType: 'stop', notificationType: 'revocable' },
      { type: 'set-timer', timer: 'action-deadline', delayMs: 3000 },
    ]);
    expect(run(p, [[1, notify(7, 800)]], enabled(p)).effects).toContainEqual({ type: 'set-timer', timer: 'action-deadline', delayMs: 800 });
  });

  it('maps the handler answer: accept and reject carry its log; error leaves "unknown" and the previous log', () => {
    const p = policy({ hasEventHandler: true });
    const r = run(p, [
      [1, notify(1)], [2, { type: 'vote-result', invocationId: 1, result: 'reject', log: 'no\nway' }],
      [3, notify(2)], [4, { type: 'vote-result', invocationId: 2, result: 'error', log: 'ignored' }],
      [5, notify(3)], [6, { type: 'vote-result', invocationId: 3, result: 'accept', log: 'fine' }],
    ], enabled(p));
    expect(sent(r.effects).map((m) => (m.msg_type === 'action_response' ? [m.invocation_id, m.vote_result, m.log_msg] : []))).toEqual([
      [1, 'reject', 'no way'], [2, 'unknown', 'no way'], [3, 'accept', 'fine'],
    ]);
  });

  it('answers "timeout" with the reference text at the deadline and kills the handler', () => {
    const p = policy({ hasEventHandler: true });
    const r = run(p, [[1, notify(9, 2000)], [1001, { type: 'timer', timer: 'action-deadline' }], [1500, { type: 'vote-result', invocationId: 9, result: 'accept', log: '' }]], enabled(p));
    expect(r.effects).toContainEqual({ type: 'stop-event-handler' });
    expect(sent(r.effects)).toEqual([expect.objectContaining({ msg_type: 'action_response', vote_result: 'timeout', log_msg: ACTION_TIMEOUT_LOG })]);
  });

  it('aborts an action still in progress without answering it', () => {
    const p = policy({ hasEventHandler: true });
    const r = run(p, [[1, notify(1)], [2, notify(2)], [3, { type: 'vote-result', invocationId: 1, result: 'accept', log: '' }], [4, { type: 'vote-result', invocationId: 2, result: 'accept', log: '' }]], enabled(p));
    expect(r.effects.filter((e) => e.type === 'stop-event-handler')).toHaveLength(1);
    expect(sent(r.effects).map((m) => (m.msg_type === 'action_response' ? m.invocation_id : 0))).toEqual([2]);
  });

  it('leaving enabled kills the handler and drops its answer', () => {
    const p = policy({ hasEventHandler: true });
    const r = run(p, [[1, notify(1)], [2, { type: 'channel-down' }], [3, { type: 'vote-result', invocationId: 1, result: 'accept', log: '' }]], enabled(p));
    expect(r.effects).toContainEqual({ type: 'stop-event-handler' });
    expect(r.effects).toContainEqual({ type: 'clear-timer', timer: 'action-deadline' });
    expect(sent(r.effects)).toEqual([]);
  });
});

describe('disabled', () => {
  it('goes to enabling on channel-up, to initial on shutdown, and ignores the rest', () => {
    const p = policy();
    const d = run(p, [[0, { type: 'channel-down' }]]).model;
    expect(d.state.kind).toBe('disabled');
    const ignored = run(p, [[1, challenge(1)], [2, { type: 'timer', timer: 'challenge-timeout' }]], d);
    expect(ignored.model).toEqual(d);
    expect(ignored.effects.filter((e) => e.type !== 'log')).toEqual([]);
    expect(run(p, [[1, { type: 'channel-up' }]], d).model.state.kind).toBe('enabling');
    expect(run(p, [[1, { type: 'shutdown' }]], d).model.state.kind).toBe('initial');
  });
});
