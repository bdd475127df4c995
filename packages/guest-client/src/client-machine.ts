/**
 * The guest-client state machine of the reference client 3.0.1 (client §6, §7), as a pure reducer
 * (STYLE.md R4): (model, event) → [model, effects]. It never reads a clock, touches a channel or runs a
 * script; the driver (client-session.ts) performs the effects.
 */
import {
  PROTOCOL_REVISION, PROTOCOL_VERSION,
  type ActionNotifyMessage, type ChallengeMessage, type CorrectiveAction, type EventType, type Health,
  type InitAckMessage, type NackMessage, type NotificationType, type VoteResult, type WireBody, type WireMessage,
} from '@guesthb/protocol';
import { challengeTimeoutMs, type ClientConfig } from './config.js';
import {
  ACTION_TIMEOUT_LOG, EXIT_LOG, actionDeadlineMs, cleanLogText, combineHealth, healthVerdict, mergeVote,
  type AppHealthReport, type PartyResult, type UnhealthyReport,
} from './client-rules.js';

/** One-shot delay from start to `release` (client §6, initial). */
export const RELEASE_DELAY_MS = 1000;
/** A timer this late means the guest was not scheduled on time (client §6 "Other timing facts"). */
export const SCHEDULING_DELAY_MS = 800;

/** What the machine needs besides the conf: the name, which parties exist, and the id source. */
export interface ClientPolicy {
  readonly name: string;
  readonly config: ClientConfig;
  /** A health check runs periodically in `enabled` (script and non-zero interval configured). */
  readonly hasHealthCheck: boolean;
  /** An event handler answers action_notify (script configured, or a simulated voter). */
  readonly hasEventHandler: boolean;
  /** The next invocation id (rand() in the reference client). */
  readonly nextInvocationId: () => number;
}

export type ClientStateKind = 'initial' | 'enabling' | 'enabled' | 'disabled';

/** An action_notify being answered. */
export interface PendingAction {
  readonly invocationId: number;
  readonly eventType: EventType;
  readonly notificationType: NotificationType;
  readonly result: VoteResult;
  /** The overall deadline of this action, ms. */
  readonly deadlineMs: number;
  /** Parties (the event handler, each notified app) that have not answered yet. */
  readonly pending: number;
}

/**
 * The registered applications of the management API (client §8) as the session sees them when a host
 * message arrives: how many would vote, and their health reports.
 */
export interface AppsSnapshot {
  readonly voters: number;
  readonly health: readonly AppHealthReport[];
}

export type ClientState =
  | { readonly kind: 'initial' }
  | { readonly kind: 'enabling'; readonly invocationId: number; readonly previousInvocationId: number | undefined }
  | { readonly kind: 'enabled'; readonly lastChallengeAt: number; readonly action: PendingAction | undefined }
  | { readonly kind: 'disabled' };

/** A health verdict forced from outside (the simulator), overriding the script's. */
export interface HealthOverride {
  readonly health: Health;
  readonly action: CorrectiveAction;
  readonly log: string;
}

/** What survives state changes: the sequence counter, the health memory and the action log buffer. */
export interface ClientMemory {
  /** Sequence of the last message sent; the first message carries 1 (client §3). */
  readonly sequence: number;
  readonly health: Health;
  readonly healthLog: string;
  readonly override: HealthOverride | undefined;
  readonly lastUnhealthy: UnhealthyReport | undefined;
  /** The action log buffer; not cleared between actions (client §7.7 quirk). */
  readonly actionLog: string;
  /** When a timer last fired ≥ 800 ms late ("not scheduling on time"); undefined if never. */
  readonly lastSchedulingDelayAt: number | undefined;
}

export interface ClientModel {
  readonly state: ClientState;
  readonly memory: ClientMemory;
}

export type TimerName = 'release' | 'init-retry' | 'challenge-timeout' | 'health-check' | 'action-deadline';

type HostMessage = ChallengeMessage | InitAckMessage | ActionNotifyMessage | NackMessage;

export type ClientEvent = { readonly at: number } & (
  | { readonly type: 'start' | 'channel-up' | 'channel-down' | 'shutdown' }
  | { readonly type: 'timer'; readonly timer: TimerName; readonly lateMs?: number }
  | { readonly type: 'message'; readonly message: HostMessage; readonly apps?: AppsSnapshot }
  | { readonly type: 'health-result'; readonly health: Health; readonly log: string }
  | { readonly type: 'health-override'; readonly override: HealthOverride | undefined }
  | { readonly type: 'vote-result'; readonly invocationId: number; readonly result: PartyResult; readonly log: string }
);

export type ClientEffect =
  | { readonly type: 'send'; readonly message: WireMessage }
  | { readonly type: 'set-timer'; readonly timer: TimerName; readonly delayMs: number }
  | { readonly type: 'clear-timer'; readonly timer: TimerName }
  | { readonly type: 'run-health-check' }
  | { readonly type: 'stop-health-check' }
  | { readonly type: 'run-event-handler'; readonly invocationId: number; readonly eventType: EventType; readonly notificationType: NotificationType }
  | { readonly type: 'stop-event-handler' }
  | { readonly type: 'notify-apps'; readonly invocationId: number; readonly eventType: EventType; readonly notificationType: NotificationType }
  | { readonly type: 'stop-app-votes' }
  | { readonly type: 'state-changed'; readonly from: ClientStateKind; readonly to: ClientStateKind; readonly event: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: Record<string, unknown> };

export type ClientStep = readonly [ClientModel, readonly ClientEffect[]];

/** The model before start. */
export function initialClientModel(): ClientModel {
  return {
    state: { kind: 'initial' },
    memory: { sequence: 0, health: 'healthy', healthLog: '', override: undefined, lastUnhealthy: undefined, actionLog: '', lastSchedulingDelayAt: undefined },
  };
}

/** Mutable scratch for one step: the model as it evolves and the effects in order. */
class Step {
  effects: ClientEffect[] = [];
  constructor(public state: ClientState, public memory: ClientMemory) {}
  send(body: WireBody): void {
    const sequence = this.memory.sequence + 1;
    this.memory = { ...this.memory, sequence };
    const message = { version: PROTOCOL_VERSION, revision: PROTOCOL_REVISION, ...body, sequence } as WireMessage;
    this.effects.push({ type: 'send', message });
  }
  emit(effect: ClientEffect): void {
    this.effects.push(effect);
  }
  result(): ClientStep {
    return [{ state: this.state, memory: this.memory }, this.effects];
  }
}

/** The reducer. */
export function stepClient(policy: ClientPolicy, model: ClientModel, event: ClientEvent): ClientStep {
  const s = new Step(model.state, model.memory);
  switch (event.type) {
    case 'start':
      if (s.state.kind === 'initial') s.emit({ type: 'set-timer', timer: 'release', delayMs: RELEASE_DELAY_MS });
      break;
    case 'channel-up':
      if (s.state.kind === 'initial' || s.state.kind === 'disabled') enterEnabling(policy, s, 'channel-up');
      break;
    case 'channel-down':
      if (s.state.kind !== 'disabled') moveTo(s, { kind: 'disabled' }, 'channel-down');
      break;
    case 'shutdown':
      if (s.state.kind === 'enabled') s.send({ msg_type: 'exit', sequence: 0, log_msg: EXIT_LOG });
      if (s.state.kind !== 'initial') moveTo(s, { kind: 'initial' }, 'shutdown');
      else s.emit({ type: 'clear-timer', timer: 'release' });
      break;
    case 'timer':
      if ((event.lateMs ?? 0) >= SCHEDULING_DELAY_MS) {
        s.memory = { ...s.memory, lastSchedulingDelayAt: event.at };
        s.emit({ type: 'log', level: 'warn', msg: 'not scheduling on time', fields: { timer: event.timer, lateMs: event.lateMs } });
      }
      onTimer(policy, s, event.timer, event.at);
      break;
    case 'message':
      onMessage(policy, s, event.message, event.at, event.apps ?? NO_APPS);
      break;
    case 'health-result':
      // Results of a run killed on leaving `enabled` may still arrive; only `enabled` takes them.
      if (s.state.kind === 'enabled') s.memory = { ...s.memory, health: event.health, healthLog: cleanLogText(event.log) };
      break;
    case 'health-override':
      s.memory = { ...s.memory, override: event.override === undefined ? undefined : { ...event.override, log: cleanLogText(event.override.log) } };
      break;
    case 'vote-result':
      onVoteResult(s, event.invocationId, event.result, cleanLogText(event.log));
      break;
  }
  return s.result();
}

function onTimer(policy: ClientPolicy, s: Step, timer: TimerName, at: number): void {
  const state = s.state;
  switch (timer) {
    case 'release':
      if (state.kind === 'initial') enterEnabling(policy, s, 'release');
      return;
    case 'init-retry':
      if (state.kind !== 'enabling') return;
      // Every attempt carries a new id; an ack of this one or the previous one counts (client §4.2).
      s.state = { kind: 'enabling', invocationId: sendInit(policy, s), previousInvocationId: state.invocationId };
      s.emit({ type: 'set-timer', timer: 'init-retry', delayMs: policy.config.initRetryMs });
      return;
    case 'challenge-timeout': {
      if (state.kind !== 'enabled') return;
      // The timer is re-armed lazily: a challenge only moves lastChallengeAt (no timer churn per challenge).
      const remaining = state.lastChallengeAt + challengeTimeoutMs(policy.config) - at;
      if (remaining > 0) {
        s.emit({ type: 'set-timer', timer: 'challenge-timeout', delayMs: remaining });
        return;
      }
      // A descheduled VM must not declare loss: wait one more period after a scheduling delay (client §6).
      if (recentlyLate(s.memory, at, challengeTimeoutMs(policy.config))) {
        s.emit({ type: 'set-timer', timer: 'challenge-timeout', delayMs: challengeTimeoutMs(policy.config) });
        return;
      }
      s.emit({ type: 'log', level: 'warn', msg: 'no challenge within the challenge timeout; re-initialising', fields: { timeoutMs: challengeTimeoutMs(policy.config) } });
      enterEnabling(policy, s, 'challenge-timeout');
      return;
    }
    case 'health-check':
      if (state.kind !== 'enabled') return;
      s.emit({ type: 'run-health-check' });
      s.emit({ type: 'set-timer', timer: 'health-check', delayMs: policy.config.healthCheckIntervalSecs * 1000 });
      return;
    case 'action-deadline': {
      if (state.kind !== 'enabled' || state.action === undefined) return;
      const action = state.action;
      if (recentlyLate(s.memory, at, action.deadlineMs)) {
        s.emit({ type: 'set-timer', timer: 'action-deadline', delayMs: action.deadlineMs });
        return;
      }
      s.emit({ type: 'stop-event-handler' });
      s.emit({ type: 'stop-app-votes' });
      const rejected = action.result === 'reject';
      sendActionResponse(s, action, rejected ? 'reject' : 'timeout', rejected ? s.memory.actionLog : ACTION_TIMEOUT_LOG);
      s.state = { ...state, action: undefined };
      return;
    }
  }
}

const NO_APPS: AppsSnapshot = { voters: 0, health: [] };

function onMessage(policy: ClientPolicy, s: Step, message: HostMessage, at: number, apps: AppsSnapshot): void {
  const state = s.state;
  switch (message.msg_type) {
    case 'init_ack':
      if (state.kind === 'enabling' && (message.invocation_id === state.invocationId || message.invocation_id === state.previousInvocationId)) {
        enterEnabled(policy, s, at);
      } else {
        s.emit({ type: 'log', level: 'debug', msg: 'init_ack ignored', fields: { state: state.kind, invocationId: message.invocation_id } });
      }
      return;
    case 'challenge':
      if (state.kind !== 'enabled') {
        s.emit({ type: 'log', level: 'debug', msg: 'challenge ignored', fields: { state: state.kind } });
        return;
      }
      s.state = { ...state, lastChallengeAt: at };
      answerChallenge(policy, s, message.heartbeat_challenge, at, apps.health);
      return;
    case 'action_notify':
      onActionNotify(policy, s, message, apps.voters);
      return;
    case 'nack':
      s.emit({ type: 'log', level: 'error', msg: 'Heartbeat Nack message received', fields: { invocationId: message.invocation_id, logMsg: message.log_msg } });
      return;
  }
}

function answerChallenge(policy: ClientPolicy, s: Step, challenge: number, at: number, apps: readonly AppHealthReport[]): void {
  const m = s.memory;
  // The simulator's override replaces everything; otherwise apps and the script combine (client §5).
  const combined = m.override ?? combineHealth({ health: m.health, log: m.healthLog }, policy.config.correctiveAction, apps);
  const verdict = healthVerdict(combined.health, combined.action, m.lastUnhealthy, at);
  s.memory = { ...m, lastUnhealthy: verdict.report };
  s.send({
    msg_type: 'challenge_response', sequence: 0, heartbeat_response: challenge,
    heartbeat_health: verdict.health, corrective_action: verdict.action, log_msg: cleanLogText(combined.log),
  });
}

function onActionNotify(policy: ClientPolicy, s: Step, message: ActionNotifyMessage, appVoters: number): void {
  const state = s.state;
  const action: PendingAction = {
    invocationId: message.invocation_id, eventType: message.event_type, notificationType: message.notification_type, result: 'unknown',
    deadlineMs: actionDeadlineMs(message.timeout_ms), pending: (policy.hasEventHandler ? 1 : 0) + appVoters,
  };
  if (state.kind !== 'enabled') {
    sendActionResponse(s, action, 'complete', '');                       // client §4.2: any other state
    return;
  }
  if (state.action !== undefined) {
    // client §7.1: the old action is aborted and gets no response.
    abortAction(s);
  }
  if (action.pending === 0) {
    s.state = { ...state, action: undefined };
    sendActionResponse(s, action, 'complete', '');                       // client §7.6: no apps, no script
    return;
  }
  s.state = { ...state, action };
  const what = { invocationId: action.invocationId, eventType: action.eventType, notificationType: action.notificationType };
  if (appVoters > 0) s.emit({ type: 'notify-apps', ...what });
  if (policy.hasEventHandler) s.emit({ type: 'run-event-handler', ...what });
  s.emit({ type: 'set-timer', timer: 'action-deadline', delayMs: action.deadlineMs });
}

/** The action in progress is dropped: its script is killed, its app votes are forgotten (client §7.1, §6). */
function abortAction(s: Step): void {
  s.emit({ type: 'clear-timer', timer: 'action-deadline' });
  s.emit({ type: 'stop-event-handler' });
  s.emit({ type: 'stop-app-votes' });
}

function onVoteResult(s: Step, invocationId: number, result: PartyResult, log: string): void {
  const state = s.state;
  if (state.kind !== 'enabled' || state.action?.invocationId !== invocationId) return;   // stale: aborted action
  const merged = mergeVote(state.action.result, s.memory.actionLog, result, log);
  s.memory = { ...s.memory, actionLog: merged.log };
  const pending = state.action.pending - 1;
  if (pending > 0) {
    s.state = { ...state, action: { ...state.action, result: merged.result, pending } };
    return;
  }
  // Every party has answered (client §7.6).
  s.emit({ type: 'clear-timer', timer: 'action-deadline' });
  sendActionResponse(s, state.action, merged.result, merged.log);
  s.state = { ...state, action: undefined };
}

function recentlyLate(memory: ClientMemory, at: number, periodMs: number): boolean {
  return memory.lastSchedulingDelayAt !== undefined && at - memory.lastSchedulingDelayAt < periodMs;
}

function sendActionResponse(s: Step, action: PendingAction, result: VoteResult, log: string): void {
  s.send({
    msg_type: 'action_response', sequence: 0, invocation_id: action.invocationId, event_type: action.eventType,
    notification_type: action.notificationType, vote_result: result, log_msg: log,
  });
}

function sendInit(policy: ClientPolicy, s: Step): number {
  const c = policy.config;
  const invocationId = policy.nextInvocationId();
  // client §4.1: every *_secs goes out +1 s ("propagation delay"); the interval as configured.
  s.send({
    msg_type: 'init', sequence: 0, invocation_id: invocationId, name: policy.name,
    heartbeat_interval_ms: c.heartbeatIntervalMs, vote_secs: c.voteSecs + 1, shutdown_notice_secs: c.shutdownNoticeSecs + 1,
    suspend_notice_secs: c.suspendNoticeSecs + 1, resume_notice_secs: c.resumeNoticeSecs + 1, restart_secs: c.restartSecs + 1,
    corrective_action: c.correctiveAction,
  });
  return invocationId;
}

function enterEnabling(policy: ClientPolicy, s: Step, event: string): void {
  moveTo(s, { kind: 'enabling', invocationId: 0, previousInvocationId: undefined }, event);
  s.state = { kind: 'enabling', invocationId: sendInit(policy, s), previousInvocationId: undefined };
  s.emit({ type: 'set-timer', timer: 'init-retry', delayMs: policy.config.initRetryMs });
}

function enterEnabled(policy: ClientPolicy, s: Step, at: number): void {
  moveTo(s, { kind: 'enabled', lastChallengeAt: at, action: undefined }, 'init-ack');
  s.memory = { ...s.memory, health: 'healthy' };                        // client §6: reset on entry
  s.emit({ type: 'set-timer', timer: 'challenge-timeout', delayMs: challengeTimeoutMs(policy.config) });
  if (policy.hasHealthCheck && policy.config.healthCheckIntervalSecs > 0) {
    s.emit({ type: 'set-timer', timer: 'health-check', delayMs: policy.config.healthCheckIntervalSecs * 1000 });
  }
}

/** Leaves the current state (its timers stop, its scripts are killed) and enters `next`. */
function moveTo(s: Step, next: ClientState, event: string): void {
  const from = s.state;
  switch (from.kind) {
    case 'initial':
      s.emit({ type: 'clear-timer', timer: 'release' });
      break;
    case 'enabling':
      s.emit({ type: 'clear-timer', timer: 'init-retry' });
      break;
    case 'enabled':
      s.emit({ type: 'clear-timer', timer: 'challenge-timeout' });
      s.emit({ type: 'clear-timer', timer: 'health-check' });
      s.emit({ type: 'stop-health-check' });
      if (from.action !== undefined) abortAction(s);
      break;
    case 'disabled':
      break;
  }
  s.state = next;
  s.emit({ type: 'state-changed', from: from.kind, to: next.kind, event });
}
