/**
 * One application connection of the management API (client §8), as a pure reducer (STYLE.md R4):
 * registration, the challenge cadence, the 2 × interval heartbeat timeout, and one vote at a time.
 * The server (app-api-server.ts) owns the socket and the timers and performs the effects.
 */
import { noticeClassOf, type CorrectiveAction, type EventType, type Health, type NotificationType } from '@guesthb/protocol';
import type { AppMessage } from './app-api-codec.js';
import type { PartyResult } from './client-rules.js';

/** An INIT with a smaller interval is refused (client §8 "Registration"). */
export const APP_MIN_HEARTBEAT_INTERVAL_MS = 400;
/** How many recent challenge values a response may echo (client §8). */
export const APP_ACCEPTED_CHALLENGES = 4;

export interface AppPolicy {
  /** The next challenge value (rand() in the reference client). */
  readonly nextChallenge: () => number;
}

/** What an application declared in its INIT. */
export interface AppRegistration {
  readonly name: string;
  readonly heartbeatIntervalMs: number;
  readonly voteSecs: number;
  readonly shutdownNoticeSecs: number;
  readonly suspendNoticeSecs: number;
  readonly resumeNoticeSecs: number;
  readonly correctiveAction: CorrectiveAction;
}

/** A vote sent to this application. */
export interface AppVote {
  /** The id in this app's ACTION_NOTIFY (its own random id, client §7.3). */
  readonly invocationId: number;
  readonly eventType: EventType;
  readonly notificationType: NotificationType;
}

export type AppState =
  | { readonly kind: 'unregistered' }
  | {
    readonly kind: 'registered';
    readonly registration: AppRegistration;
    readonly health: Health;
    readonly action: CorrectiveAction;
    readonly log: string;
    /** A challenge is out and not answered yet: no new one goes out (client §8). */
    readonly awaitingResponse: boolean;
    /** No valid response for 2 × interval (cleared by the next valid one). */
    readonly timedOut: boolean;
    /** The last 4 values sent, newest last. */
    readonly recentChallenges: readonly number[];
    readonly vote: AppVote | undefined;
  };

export type AppTimerName = 'challenge' | 'heartbeat-timeout' | 'vote';

export type AppEvent =
  | { readonly type: 'message'; readonly message: AppMessage }
  | {
    readonly type: 'timer'; readonly timer: AppTimerName;
    /** How long ago a timer last fired ≥ 800 ms late ("not scheduling on time", client §6); undefined if never. */
    readonly sinceSchedulingDelayMs?: number;
  }
  | { readonly type: 'vote'; readonly vote: AppVote }
  | { readonly type: 'cancel-vote' }
  | { readonly type: 'closed' };

export type AppEffect =
  | { readonly type: 'send'; readonly message: AppMessage }
  | { readonly type: 'set-timer'; readonly timer: AppTimerName; readonly delayMs: number }
  | { readonly type: 'clear-timer'; readonly timer: AppTimerName }
  | { readonly type: 'vote-result'; readonly result: PartyResult; readonly log: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };

export type AppStep = readonly [AppState, readonly AppEffect[]];

export const INITIAL_APP_STATE: AppState = { kind: 'unregistered' };

/** The log text of a heartbeat timeout, verbatim from the original (client §8 [verified]). */
export function appTimeoutLog(name: string, intervalMs: number): string {
  return `Application ${name} heartbeat timeout ${2 * intervalMs} ms.`;
}

/** The per-app vote deadline (client §7.3): vote_secs if revocable, else the notice of the event's class. */
export function appVoteDeadlineMs(registration: AppRegistration, eventType: EventType, notificationType: NotificationType): number {
  if (notificationType === 'revocable') return registration.voteSecs * 1000;
  switch (noticeClassOf(eventType)) {
    case 'shutdown':
      return registration.shutdownNoticeSecs * 1000;
    case 'suspend':
      return registration.suspendNoticeSecs * 1000;
    case 'resume':
    case undefined:
      return registration.resumeNoticeSecs * 1000;
  }
}

export function stepApp(policy: AppPolicy, state: AppState, event: AppEvent): AppStep {
  const effects: AppEffect[] = [];
  const next = reduce(policy, state, event, effects);
  return [next, effects];
}

function reduce(policy: AppPolicy, s: AppState, e: AppEvent, fx: AppEffect[]): AppState {
  switch (e.type) {
    case 'message':
      return onMessage(s, e.message, fx);
    case 'timer':
      return onTimer(policy, s, e.timer, e.sinceSchedulingDelayMs, fx);
    case 'vote':
      if (s.kind !== 'registered') {
        fx.push({ type: 'vote-result', result: 'error', log: '' });              // not a voter any more: no influence
        return s;
      }
      if (s.vote !== undefined) fx.push({ type: 'clear-timer', timer: 'vote' });
      fx.push({ type: 'send', message: { type: 'action_notify', ...e.vote } });
      fx.push({ type: 'set-timer', timer: 'vote', delayMs: appVoteDeadlineMs(s.registration, e.vote.eventType, e.vote.notificationType) });
      return { ...s, vote: e.vote };
    case 'cancel-vote':
      if (s.kind !== 'registered' || s.vote === undefined) return s;
      fx.push({ type: 'clear-timer', timer: 'vote' });
      return { ...s, vote: undefined };
    case 'closed':
      return deregister(s, fx, 'closed');
  }
}

function onMessage(s: AppState, m: AppMessage, fx: AppEffect[]): AppState {
  switch (m.type) {
    case 'init':
      return onInit(s, m, fx);
    case 'final':
      if (s.kind === 'registered') fx.push({ type: 'log', level: 'info', msg: 'application deregistered', fields: { app: s.registration.name, logMsg: m.logMsg } });
      return deregister(s, fx, 'final');
    case 'challenge_response': {
      if (s.kind !== 'registered') return s;
      if (!s.recentChallenges.includes(m.heartbeatResponse)) {
        fx.push({ type: 'log', level: 'debug', msg: 'application echoed a wrong challenge; ignored', fields: { app: s.registration.name, response: m.heartbeatResponse } });
        return s;
      }
      fx.push({ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2 * s.registration.heartbeatIntervalMs });
      return { ...s, awaitingResponse: false, timedOut: false, health: m.health, action: m.correctiveAction, log: m.logMsg };
    }
    case 'action_response': {
      if (s.kind !== 'registered' || s.vote === undefined || s.vote.invocationId !== m.invocationId) {
        fx.push({ type: 'log', level: 'debug', msg: 'application action response does not match a pending vote; ignored', fields: { invocationId: m.invocationId } });
        return s;
      }
      fx.push({ type: 'clear-timer', timer: 'vote' });
      fx.push({ type: 'vote-result', result: m.voteResult === 'unknown' ? 'error' : m.voteResult, log: m.logMsg });
      return { ...s, vote: undefined };
    }
    case 'init_ack':
    case 'challenge':
    case 'action_notify':
      return s;                                                               // daemon→app types: the decoder drops them
  }
}

function onInit(s: AppState, m: Extract<AppMessage, { type: 'init' }>, fx: AppEffect[]): AppState {
  if (m.heartbeatIntervalMs < APP_MIN_HEARTBEAT_INTERVAL_MS) {
    fx.push({ type: 'log', level: 'warn', msg: 'application registration refused: heartbeat interval below 400 ms', fields: { app: m.applicationName, intervalMs: m.heartbeatIntervalMs } });
    fx.push({ type: 'send', message: { type: 'init_ack', accepted: false } });
    return deregister(s, fx, 'refused');
  }
  const registration: AppRegistration = {
    name: m.applicationName, heartbeatIntervalMs: m.heartbeatIntervalMs, voteSecs: m.voteSecs, shutdownNoticeSecs: m.shutdownNoticeSecs,
    suspendNoticeSecs: m.suspendNoticeSecs, resumeNoticeSecs: m.resumeNoticeSecs, correctiveAction: m.correctiveAction,
  };
  if (s.kind === 'registered' && s.vote !== undefined) {
    fx.push({ type: 'clear-timer', timer: 'vote' });
    fx.push({ type: 'vote-result', result: 'error', log: '' });             // re-registered mid-vote: no influence
  }
  fx.push({ type: 'log', level: 'info', msg: 'application registered', fields: { app: registration.name, intervalMs: registration.heartbeatIntervalMs } });
  fx.push({ type: 'send', message: { type: 'init_ack', accepted: true } });
  fx.push({ type: 'set-timer', timer: 'challenge', delayMs: registration.heartbeatIntervalMs });
  fx.push({ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2 * registration.heartbeatIntervalMs });
  return {
    kind: 'registered', registration, health: 'healthy', action: registration.correctiveAction, log: '',
    awaitingResponse: false, timedOut: false, recentChallenges: [], vote: undefined,
  };
}

function onTimer(policy: AppPolicy, s: AppState, timer: AppTimerName, sinceDelayMs: number | undefined, fx: AppEffect[]): AppState {
  if (s.kind !== 'registered') return s;
  const reg = s.registration;
  switch (timer) {
    case 'challenge': {
      fx.push({ type: 'set-timer', timer: 'challenge', delayMs: reg.heartbeatIntervalMs });
      if (s.awaitingResponse) return s;                                      // only once the previous was answered
      const value = policy.nextChallenge();
      fx.push({ type: 'send', message: { type: 'challenge', heartbeatChallenge: value } });
      return { ...s, awaitingResponse: true, recentChallenges: [...s.recentChallenges, value].slice(-APP_ACCEPTED_CHALLENGES) };
    }
    case 'heartbeat-timeout': {
      // A descheduled VM must not declare its apps dead: wait one more period (client §6).
      if (sinceDelayMs !== undefined && sinceDelayMs < 2 * reg.heartbeatIntervalMs) {
        fx.push({ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2 * reg.heartbeatIntervalMs });
        return s;
      }
      const log = appTimeoutLog(reg.name, reg.heartbeatIntervalMs);
      if (!s.timedOut) fx.push({ type: 'log', level: 'warn', msg: log, fields: { app: reg.name } });
      // A fresh challenge goes out every 2 × interval while the app stays silent, so an echo of any of the
      // last 4 (a late answer of a descheduled app) heals it; each valid response re-arms this timer.
      fx.push({ type: 'set-timer', timer: 'heartbeat-timeout', delayMs: 2 * reg.heartbeatIntervalMs });
      return { ...s, health: 'unhealthy', action: reg.correctiveAction, log, awaitingResponse: false, timedOut: true };
    }
    case 'vote':
      if (s.vote === undefined) return s;
      fx.push({ type: 'vote-result', result: 'timeout', log: '' });
      return { ...s, vote: undefined };
  }
}

function deregister(s: AppState, fx: AppEffect[], why: string): AppState {
  if (s.kind !== 'registered') return s;
  for (const timer of ['challenge', 'heartbeat-timeout', 'vote'] as const) fx.push({ type: 'clear-timer', timer });
  // A vote in progress counts as answered without influence, so the host's vote never hangs on it.
  if (s.vote !== undefined) fx.push({ type: 'vote-result', result: 'error', log: '' });
  fx.push({ type: 'log', level: 'debug', msg: 'application no longer registered', fields: { app: s.registration.name, why } });
  return INITIAL_APP_STATE;
}
