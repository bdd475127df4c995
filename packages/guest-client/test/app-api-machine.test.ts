/**
 * The pure rules of the application API (client §5, §7, §8): one app connection's reducer, the health
 * combination of apps and script, and the client machine's vote with app parties.
 */
import { describe, expect, it } from 'vitest';
import type { WireMessage } from '@guesthb/protocol';
import {
  ACTION_TIMEOUT_LOG, DEFAULT_CLIENT_CONFIG, INITIAL_APP_STATE, appVoteDeadlineMs, combineHealth, initialClientModel, stepApp, stepClient,
  type AppEffect, type AppEvent, type AppMessage, type AppRegistration, type AppState, type AppsSnapshot,
  type ClientEffect, type ClientEvent, type ClientModel, type ClientPolicy,
} from '../src/index.js';

let nextValue = 0;
const appPolicy = { nextChallenge: () => ++nextValue };

function runApp(events: AppEvent[], state: AppState = INITIAL_APP_STATE): { state: AppState; effects: AppEffect[] } {
  const effects: AppEffect[] = [];
  let s = state;
  for (const e of events) {
    const [next, out] = stepApp(appPolicy, s, e);
    s = next;
    effects.push(...out);
  }
  return { state: s, effects };
}

const init = (intervalMs = 1000): AppEvent => ({
  type: 'message',
  message: { type: 'init', applicationName: 'app', heartbeatIntervalMs: intervalMs, voteSecs: 8, shutdownNoticeSecs: 5, suspendNoticeSecs: 6, resumeNoticeSecs: 7, correctiveAction: 'stop' },
});
const appSent = (effects: AppEffect[]): AppMessage[] => effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
const results = (effects: AppEffect[]): string[] => effects.flatMap((e) => (e.type === 'vote-result' ? [e.result] : []));

describe('stepApp', () => {
  it('registers with INIT_ACK accepted=1 and arms the challenge and the 2 × interval timeout; < 400 ms is refused', () => {
    const ok = runApp([init(1000)]);
    expect(ok.state.kind).toBe('registered');
    expect(appSent(ok.effects)).toEqual([{ type: 'init_ack', accepted: true }]);
    expect(ok.effects).toContainEqual({ type: 'set-timer', timer: 'challenge', delayMs: 1000 });
    expect(ok.effects).toContainEqual({ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2000 });
    const refused = runApp([init(399)]);
    expect(refused.state.kind).toBe('unregistered');
    expect(appSent(refused.effects)).toEqual([{ type: 'init_ack', accepted: false }]);
  });

  it('a vote gets ACTION_NOTIFY with the app deadline; the matching response answers once; others are ignored', () => {
    const r = runApp([init(), { type: 'vote', vote: { invocationId: 42, eventType: 'stop', notificationType: 'irrevocable' } }]);
    expect(appSent(r.effects).at(-1)).toEqual({ type: 'action_notify', invocationId: 42, eventType: 'stop', notificationType: 'irrevocable' });
    expect(r.effects).toContainEqual({ type: 'set-timer', timer: 'vote', delayMs: 5000 });
    const response = (id: number, voteResult: 'accept' | 'unknown'): AppEvent => ({ type: 'message', message: { type: 'action_response', invocationId: id, eventType: 'stop', notificationType: 'irrevocable', voteResult, logMsg: '' } });
    expect(results(runApp([response(41, 'accept'), response(42, 'accept'), response(42, 'accept')], r.state).effects)).toEqual(['accept']);
    expect(results(runApp([response(42, 'unknown')], r.state).effects)).toEqual(['error']);
    expect(results(runApp([{ type: 'timer', timer: 'vote' }], r.state).effects)).toEqual(['timeout']);
  });

  it('FINAL, a new INIT or closing during a vote answers it without influence (error), so the vote never hangs', () => {
    const voting = runApp([init(), { type: 'vote', vote: { invocationId: 1, eventType: 'pause', notificationType: 'revocable' } }]).state;
    expect(results(runApp([{ type: 'message', message: { type: 'final', logMsg: '' } }], voting).effects)).toEqual(['error']);
    expect(results(runApp([init()], voting).effects)).toEqual(['error']);
    expect(results(runApp([{ type: 'closed' }], voting).effects)).toEqual(['error']);
    expect(results(runApp([{ type: 'cancel-vote' }, { type: 'closed' }], voting).effects)).toEqual([]);
    expect(results(runApp([{ type: 'vote', vote: { invocationId: 2, eventType: 'pause', notificationType: 'revocable' } }]).effects)).toEqual(['error']);
  });

  it('a heartbeat timeout soon after a scheduling delay waits one more period (client §6)', () => {
    const registered = runApp([init(1000)]).state;
    const late = runApp([{ type: 'timer', timer: 'heartbeat-timeout', sinceSchedulingDelayMs: 500 }], registered);
    expect(late.state).toMatchObject({ health: 'healthy' });
    expect(late.effects).toEqual([{ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2000 }]);
    const dead = runApp([{ type: 'timer', timer: 'heartbeat-timeout', sinceSchedulingDelayMs: 2000 }], registered);
    expect(dead.state).toMatchObject({ health: 'unhealthy', action: 'stop', log: 'Application app heartbeat timeout 2000 ms.' });
  });

  it('the per-app deadline follows client §7.3', () => {
    const reg: AppRegistration = { name: 'a', heartbeatIntervalMs: 1000, voteSecs: 8, shutdownNoticeSecs: 5, suspendNoticeSecs: 6, resumeNoticeSecs: 7, correctiveAction: 'log' };
    expect(appVoteDeadlineMs(reg, 'stop', 'revocable')).toBe(8000);
    expect(appVoteDeadlineMs(reg, 'reboot', 'irrevocable')).toBe(5000);
    expect(appVoteDeadlineMs(reg, 'live_migrate_begin', 'irrevocable')).toBe(6000);
    expect(appVoteDeadlineMs(reg, 'cold_migrate_end', 'irrevocable')).toBe(7000);
  });
});

describe('combineHealth (client §5)', () => {
  const healthyScript = { health: 'healthy' as const, log: 'script says ok' };
  const sickScript = { health: 'unhealthy' as const, log: 'script says sick' };
  it('all apps healthy: the script verdict, the configured action and the script log', () => {
    expect(combineHealth(healthyScript, 'reboot', [{ health: 'healthy', action: 'stop', log: 'x' }])).toEqual({ health: 'healthy', action: 'reboot', log: 'script says ok' });
    expect(combineHealth(sickScript, 'log', [])).toEqual({ health: 'unhealthy', action: 'log', log: 'script says sick' });
  });
  it('an unhealthy app: the most severe action (stop > reboot > log) among unhealthy apps, with that app\'s log', () => {
    const apps = [
      { health: 'unhealthy' as const, action: 'log' as const, log: 'a' },
      { health: 'unhealthy' as const, action: 'stop' as const, log: 'b' },
      { health: 'healthy' as const, action: 'stop' as const, log: 'c' },
      { health: 'unhealthy' as const, action: 'reboot' as const, log: 'd' },
    ];
    expect(combineHealth(healthyScript, 'reboot', apps)).toEqual({ health: 'unhealthy', action: 'stop', log: 'b' });
  });
  it('an unhealthy app and an unhealthy script: the configured action merges in, and its win brings the script log', () => {
    const app = [{ health: 'unhealthy' as const, action: 'log' as const, log: 'app' }];
    expect(combineHealth(sickScript, 'stop', app)).toEqual({ health: 'unhealthy', action: 'stop', log: 'script says sick' });
    expect(combineHealth(sickScript, 'log', app)).toEqual({ health: 'unhealthy', action: 'log', log: 'app' });
    expect(combineHealth(healthyScript, 'stop', app)).toEqual({ health: 'unhealthy', action: 'log', log: 'app' });
  });
});

describe('the client machine with app parties (client §7.5, §7.6)', () => {
  const policy: ClientPolicy = { name: 'vm', config: DEFAULT_CLIENT_CONFIG, hasHealthCheck: false, hasEventHandler: true, nextInvocationId: () => 1 };
  type Body = ClientEvent extends infer E ? (E extends unknown ? Omit<E, 'at'> : never) : never;
  function run(events: Body[], model: ClientModel): { model: ClientModel; effects: ClientEffect[] } {
    const effects: ClientEffect[] = [];
    let m = model;
    for (const e of events) {
      const [next, out] = stepClient(policy, m, { ...e, at: 0 } as ClientEvent);
      m = next;
      effects.push(...out);
    }
    return { model: m, effects };
  }
  const enabled = run([{ type: 'channel-up' }, { type: 'message', message: { version: 3, revision: 1, msg_type: 'init_ack', sequence: 1, invocation_id: 1 } }], initialClientModel()).model;
  const apps = (voters: number): AppsSnapshot => ({ voters, health: [] });
  const notify = (voters: number): Body => ({
    type: 'message', apps: apps(voters),
    message: { version: 3, revision: 1, msg_type: 'action_notify', sequence: 2, invocation_id: 9, event_type: 'stop', notification_type: 'revocable', timeout_ms: 5000 },
  });
  const vote = (result: 'accept' | 'reject' | 'complete' | 'error' | 'timeout', log = ''): Body => ({ type: 'vote-result', invocationId: 9, result, log });
  const responses = (effects: ClientEffect[]): WireMessage[] => effects.flatMap((e) => (e.type === 'send' && e.message.msg_type === 'action_response' ? [e.message] : []));

  it('notifies the apps and runs the script; answers only when every party has, reject winning', () => {
    const started = run([notify(2)], enabled);
    expect(started.effects).toContainEqual({ type: 'notify-apps', invocationId: 9, eventType: 'stop', notificationType: 'revocable' });
    expect(started.effects).toContainEqual({ type: 'run-event-handler', invocationId: 9, eventType: 'stop', notificationType: 'revocable' });
    const partial = run([vote('reject', 'app says no'), vote('accept', 'script ok')], started.model);
    expect(responses(partial.effects)).toEqual([]);
    const done = run([vote('complete')], partial.model);
    expect(responses(done.effects)).toMatchObject([{ vote_result: 'reject', log_msg: 'app says no' }]);
  });

  it('the last accept/complete wins; error and timeout change nothing', () => {
    const r = run([notify(2), vote('complete', 'app'), vote('accept', 'script'), vote('timeout')], enabled);
    expect(responses(r.effects)).toMatchObject([{ vote_result: 'accept', log_msg: 'script' }]);
  });

  it('at the overall deadline: the earlier reject, or the timeout text; the app votes are stopped', () => {
    const rejected = run([notify(1), vote('reject', 'no'), { type: 'timer', timer: 'action-deadline' }], enabled);
    expect(rejected.effects).toContainEqual({ type: 'stop-app-votes' });
    expect(responses(rejected.effects)).toMatchObject([{ vote_result: 'reject', log_msg: 'no' }]);
    const silent = run([notify(1), vote('accept'), { type: 'timer', timer: 'action-deadline' }], enabled);
    expect(responses(silent.effects)).toMatchObject([{ vote_result: 'timeout', log_msg: ACTION_TIMEOUT_LOG }]);
  });

  it('with apps but no script, only the apps vote; with neither the answer is complete at once', () => {
    const noScript = { ...policy, hasEventHandler: false };
    const [m1, fx1] = stepClient(noScript, enabled, { ...notify(1), at: 0 } as ClientEvent);
    expect(fx1).not.toContainEqual(expect.objectContaining({ type: 'run-event-handler' }));
    const [, fx2] = stepClient(noScript, m1, { ...vote('accept'), at: 0 } as ClientEvent);
    expect(responses([...fx2])).toMatchObject([{ vote_result: 'accept' }]);
    const [, fx3] = stepClient(noScript, enabled, { ...notify(0), at: 0 } as ClientEvent);
    expect(responses([...fx3])).toMatchObject([{ vote_result: 'complete', log_msg: '' }]);
  });
});
