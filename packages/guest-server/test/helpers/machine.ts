/** Shared fixtures of the pure reducer tests. */
import type { CorrectiveAction, EventType, InitMessage, WireBody, WireMessage } from '@guesthb/protocol';
import { initialInstanceState, stepInstance, type HeartbeatPolicy, type InstanceEffect, type InstanceEvent, type InstanceState } from '../../src/index.js';

export function policy(overrides: Partial<HeartbeatPolicy> = {}): HeartbeatPolicy {
  let n = 100;
  return {
    failureThreshold: 1, pulsePeriodMs: 400, maxIntervalMs: 3_600_000, hostReporting: true, reconnectIdleMs: 120_000,
    voteGraceMs: 1_000, illHealthRepeatMs: 60_000, nextChallenge: () => ++n, ...overrides,
  };
}

export const INIT: InitMessage = {
  version: 3, revision: 1, msg_type: 'init', sequence: 1, invocation_id: 77, name: 'vm', heartbeat_interval_ms: 1000,
  vote_secs: 9, shutdown_notice_secs: 8, suspend_notice_secs: 7, resume_notice_secs: 6, restart_secs: 300, corrective_action: 'reboot',
};

export function response(value: number, health: 'healthy' | 'unhealthy' = 'healthy', action: CorrectiveAction = 'reboot'): WireMessage {
  return { version: 3, revision: 1, msg_type: 'challenge_response', sequence: 2, heartbeat_response: value, heartbeat_health: health, corrective_action: action, log_msg: health };
}

export function actionResponse(event: EventType, type: 'revocable' | 'irrevocable', result: 'accept' | 'reject' | 'complete', invocation = 77): WireMessage {
  return { version: 3, revision: 1, msg_type: 'action_response', sequence: 3, invocation_id: invocation, event_type: event, notification_type: type, vote_result: result, log_msg: 'because' };
}

/** Runs events in order, collecting all effects. */
export function run(p: HeartbeatPolicy, s: InstanceState, events: readonly InstanceEvent[]): [InstanceState, InstanceEffect[]] {
  const all: InstanceEffect[] = [];
  let state = s;
  for (const e of events) {
    const [next, fx] = stepInstance(p, state, e);
    state = next;
    all.push(...fx);
  }
  return [state, all];
}

/** The bodies a step sends: its `send` effects and its challenge (one `challenge` effect, issue 17). */
export const bodies = (fx: readonly InstanceEffect[]): WireBody[] => fx.flatMap((e): WireBody[] => (
  e.type === 'send' ? [e.body] : e.type === 'challenge' ? [{ msg_type: 'challenge', sequence: e.sequence, heartbeat_challenge: e.challenge }] : []));
export const sends = (fx: readonly InstanceEffect[]): string[] => bodies(fx).map((b) => b.msg_type);
export const reports = (fx: readonly InstanceEffect[]): unknown[] => fx.flatMap((e) => (e.type === 'report' ? [e.report] : []));
export const counts = (fx: readonly InstanceEffect[]): string[] => fx.flatMap((e) => (e.type === 'count' ? [e.name] : e.type === 'challenge' ? ['challenge'] : []));

/** Connected at t=0, init at t=0 (first challenge value 101 at t=0). */
export function initialised(p = policy()): InstanceState {
  return run(p, initialInstanceState(0, true), [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 0 }, { type: 'message', at: 0, message: INIT }])[0];
}

/** Initialised and heartbeating (healthy response to 101 at t=10). */
export function heartbeating(p = policy()): InstanceState {
  return run(p, initialised(p), [{ type: 'message', at: 10, message: response(101) }])[0];
}

