/**
 * The per-instance rules as a pure reducer (STYLE.md R4): (policy, state, event) → [state, effects].
 * No clock, socket, logger or timer here; `at` comes with each event and the session performs the
 * effects. Every row of daemons §1.9 / §2.4 and each decided quirk of daemons §9 is a branch below,
 * cited where it differs from the original (README "Decisions").
 */
import {
  CONNECT_BACKOFF_FIRST_MS, CONNECT_BACKOFF_MAX_MS, INT32_MAX, backoffDelayMs, nackInvocationMismatch,
  type ChallengeResponseMessage, type EventType, type StopReason, type VoteResult, type WireBody, type WireMessage,
} from '@guesthb/protocol';
import type { CycleState, InstanceEffect, InstanceState, InstanceStep, Report } from './instance-state.js';
import { applyInitDeadline, initDeadlineOf, restoreInstance, type RestoredEvent } from './init-deadline.js';
import { departureOf, holdsNotice, noticeTimeoutMs } from './vote-rules.js';
import { nearestOnPhase } from './challenge-phase.js';

export interface HeartbeatPolicy {
  /** Misses tolerated; loss when consecutive misses > threshold (daemons §1.9). */
  readonly failureThreshold: number;
  /** Floor of the guest's heartbeat_interval_ms (hbs_pulse_period, daemons §1.6). */
  readonly pulsePeriodMs: number;
  /** Ceiling of the guest's interval: Node timers overflow past 2^31-1 ms. */
  readonly maxIntervalMs: number;
  /** Host-level reporting (PUT /v1/host); gates loss reports (daemons §1.9 FAILURE stage). */
  readonly hostReporting: boolean;
  /** A connected channel with no sign of life this long is reconnected (120 s, daemons §2.5). */
  readonly reconnectIdleMs: number;
  /** Added to a notice's timeout_ms before the server gives up on an action_response. */
  readonly voteGraceMs: number;
  /** A persisting unhealthy condition is re-reported at most this often. */
  readonly illHealthRepeatMs: number;
  /** Draws a challenge value in 0..2^31-1 (daemons §1.8); injected. */
  readonly nextChallenge: () => number;
  /** Init deadline after a restart or reconnect (init-deadline.ts); undefined = derived per guest. */
  readonly initDeadlineMs?: number | undefined;
  /**
   * Asked once when a loss is due ([client] corroborate = defer-starved, issue 16 item 4): the time until
   * which the loss is held (challenges go on; a valid answer meanwhile cancels it), or undefined to report
   * now. Injected like nextChallenge: the corroborator classifies from /proc behind it.
   */
  readonly holdLoss?: ((at: number) => number | undefined) | undefined;
  /** At each init: the phase of the guest's challenges, ms into its interval (challenge-phase.ts); absent or undefined = the init's moment. */
  readonly challengePhaseMs?: ((intervalMs: number) => number | undefined) | undefined;
}

export type InstanceEvent =
  | { readonly type: 'channel-found'; readonly at: number }
  | { readonly type: 'channel-removed'; readonly at: number }
  | { readonly type: 'connected'; readonly at: number }
  | { readonly type: 'connect-failed'; readonly at: number; readonly error: string }
  | { readonly type: 'disconnected'; readonly at: number; readonly cause: string }
  | { readonly type: 'message'; readonly at: number; readonly message: WireMessage }
  | { readonly type: 'bad-message'; readonly at: number; readonly reason: string; readonly nack: string | undefined }
  | { readonly type: 'tick'; readonly at: number }
  | { readonly type: 'set-reporting'; readonly at: number; readonly reporting: boolean }
  | { readonly type: 'action'; readonly at: number; readonly event: EventType; readonly notificationType: 'revocable' | 'irrevocable' }
  | RestoredEvent;

const CONNECT_BACKOFF = { baseMs: CONNECT_BACKOFF_FIRST_MS, maxMs: CONNECT_BACKOFF_MAX_MS } as const;
/** Effects of every heartbeat, shared (immutable values, not a new object per challenge: issue 17). */
const COUNT_MISS: InstanceEffect = Object.freeze({ type: 'count', name: 'miss' });

/** One step. Unknown combinations leave the state unchanged with no effects. */
export function stepInstance(p: HeartbeatPolicy, s: InstanceState, e: InstanceEvent): InstanceStep {
  // Effects are collected in one scratch array and returned as an exact-size copy: a fresh `[]` grows a
  // 17-slot backing store at its first push, ~200 bytes of garbage per step (issue 17). The caller still
  // gets an array of its own per step (NO_EFFECTS, shared and frozen, when there are none); a re-entrant
  // call (an injected policy function stepping another instance) collects into its own.
  if (scratchBusy) {
    const fx: InstanceEffect[] = [];
    return [stepInto(p, s, e, fx), fx];
  }
  scratchBusy = true;
  try {
    const next = stepInto(p, s, e, SCRATCH);
    return [next, SCRATCH.length === 0 ? NO_EFFECTS : SCRATCH.slice()];
  } finally {
    // pop, not `length = 0`, which would drop the backing store that the scratch is kept for.
    while (SCRATCH.length > 0) SCRATCH.pop();
    scratchBusy = false;
  }
}

/** The effects of a step that has none: one frozen array for all. */
export const NO_EFFECTS: readonly InstanceEffect[] = Object.freeze([]);

const SCRATCH: InstanceEffect[] = [];
let scratchBusy = false;

/**
 * stepInstance for a caller that owns an effects array (the session, issue 17): the step's effects are
 * appended to `fx` (what it held before is left as it is) and the new state is returned, without a tuple
 * or a copy of the effects per step. The same step: stepInstance is this with a scratch array.
 */
export function stepInto(p: HeartbeatPolicy, s: InstanceState, e: InstanceEvent, fx: InstanceEffect[]): InstanceState {
  if (e.type === 'restored') return restoreInstance(p, s, e, fx);
  const from = fx.length;
  // The init deadline (issue 12 item 2) reads what the step did from its effects.
  return applyInitDeadline(p, s, reduce(p, s, e, fx), e.at, fx, from);
}

/** stepInto with `{ type: 'tick', at }`, without the event object (the timer of every heartbeat). */
export function stepTick(p: HeartbeatPolicy, s: InstanceState, at: number, fx: InstanceEffect[]): InstanceState {
  const from = fx.length;
  return applyInitDeadline(p, s, onTick(p, s, at, fx), at, fx, from);
}

/**
 * stepInto with `{ type: 'message', at, message: m }` for a challenge_response, without the event object (the
 * answer of every heartbeat). `m` is read during the call only.
 */
export function stepChallengeResponse(
  p: HeartbeatPolicy, s: InstanceState, at: number, m: ChallengeResponseMessage, fx: InstanceEffect[],
): InstanceState {
  const from = fx.length;
  return applyInitDeadline(p, s, s.link.kind === 'connected' ? onResponse(p, s, at, m, fx) : s, at, fx, from);
}

function reduce(p: HeartbeatPolicy, s: InstanceState, e: InstanceEvent, fx: InstanceEffect[]): InstanceState {
  switch (e.type) {
    case 'channel-found':
      return onChannelFound(s, fx);
    case 'channel-removed':
      return goneOrDown(s, e.at, 'channel-removed', { kind: 'no-channel' }, fx);
    case 'connected':
      // Every trigger comes through here: one connect path (daemons §9 item 29a).
      return { ...s, link: { kind: 'connected', since: e.at }, cycle: { kind: 'waiting-init' }, lastSignAt: e.at };
    case 'connect-failed': {
      const attempt = s.connectAttempt + 1;
      const delayMs = backoffDelayMs(CONNECT_BACKOFF, attempt);
      fx.push({ type: 'log', level: 'debug', msg: 'connect failed', fields: { error: e.error, retryInMs: delayMs } });
      return { ...s, link: { kind: 'backing-off', retryAt: e.at + delayMs }, connectAttempt: attempt };
    }
    case 'disconnected':
      return onDisconnected(s, e.at, e.cause, fx);
    case 'message':
      return onMessage(p, s, e.at, e.message, fx);
    case 'bad-message':
      fx.push({ type: 'log', level: 'debug', msg: 'bad message from guest', fields: { reason: e.reason } });
      if (e.nack === undefined || s.link.kind !== 'connected') return s;
      fx.push({ type: 'count', name: 'nack' });
      return send(s, { msg_type: 'nack', sequence: 0, invocation_id: s.params.invocationId, log_msg: e.nack }, fx);
    case 'tick':
      return onTick(p, s, e.at, fx);
    case 'set-reporting':
      if (s.reporting !== e.reporting) {
        fx.push({ type: 'log', level: 'info', msg: 'instance reporting changed', fields: { reporting: e.reporting } });
      }
      // Reporting gates loss reports only; the heartbeat keeps running (daemons §9 item 8).
      return { ...s, reporting: e.reporting };
    case 'action':
      return onAction(p, s, e.at, e.event, e.notificationType, fx);
    case 'restored':
      return s;   // stepInstance restores (init-deadline.ts)
  }
}

function onChannelFound(s: InstanceState, fx: InstanceEffect[]): InstanceState {
  switch (s.link.kind) {
    case 'connecting':
      return s;
    case 'connected':
      // The file was re-created under a live connection (QEMU restart): drop it and connect anew (daemons §1.3).
      fx.push({ type: 'close-socket' }, { type: 'count', name: 'reconnect' });
      fx.push({ type: 'connect' });
      return { ...stop(s, 'disconnect', fx), link: { kind: 'connecting' }, cycle: { kind: 'waiting-init' }, vote: keepOrFailVote(s, 'channel replaced', fx) };
    case 'no-channel':
    case 'backing-off':
      fx.push({ type: 'connect' });
      return { ...s, link: { kind: 'connecting' } };
  }
}

function onDisconnected(s: InstanceState, at: number, cause: string, fx: InstanceEffect[]): InstanceState {
  if (s.link.kind !== 'connected') return s;
  const attempt = s.connectAttempt + 1;
  const delayMs = backoffDelayMs(CONNECT_BACKOFF, attempt);
  fx.push({ type: 'log', level: 'info', msg: 'channel disconnected', fields: { cause, retryInMs: delayMs } });
  fx.push({ type: 'count', name: 'reconnect' });
  // EOF, ECONNRESET and EPIPE all end here; STOPPED is reported (daemons §9 items 5, 6).
  return goneOrDown(s, at, 'disconnect', { kind: 'backing-off', retryAt: at + delayMs }, fx, attempt);
}

/** Common path of a lost link: close, stop, fail any vote, and take the given link state. */
function goneOrDown(
  s: InstanceState, _at: number, reason: StopReason, link: InstanceState['link'], fx: InstanceEffect[], attempt = s.connectAttempt,
): InstanceState {
  if (s.link.kind === 'connected' || s.link.kind === 'connecting') fx.push({ type: 'close-socket' });
  const stopped = stop(s, reason, fx);
  return { ...stopped, link, cycle: { kind: 'waiting-init' }, vote: keepOrFailVote(s, `channel ${reason}`, fx), connectAttempt: attempt };
}

/**
 * heartbeating → false with a STOPPED report, whatever the cause (daemons §9 items 6, 7) — except that a
 * guest away after a parked/moving departure is expected to lose its channel: heartbeating is kept until it
 * re-inits or a held notice expires (README "Departure and return").
 */
function stop(s: InstanceState, reason: StopReason, fx: InstanceEffect[]): InstanceState {
  if (!s.heartbeating) return s;
  if (s.departure !== undefined && (reason === 'disconnect' || reason === 'channel-removed')) return s;
  fx.push({ type: 'report', report: { kind: 'stopped', reason } });
  return { ...s, heartbeating: false };
}

/** A lost channel fails the outstanding notice, unless it is held or the guest departed: then it waits for the init. */
function keepOrFailVote(s: InstanceState, reason: string, fx: InstanceEffect[]): InstanceState['vote'] {
  if (s.vote.kind === 'pending' && (s.vote.held === true || s.departure !== undefined)) return { ...s.vote, held: true };
  return failVote(s, reason, fx);
}

/** An outstanding vote that can no longer be answered is reported as `error` (never left hanging). */
function failVote(s: InstanceState, reason: string, fx: InstanceEffect[]): InstanceState['vote'] {
  if (s.vote.kind === 'pending') {
    fx.push({ type: 'report', report: voteReport(s.vote.event, s.vote.notificationType, 'error', reason) });
  }
  return { kind: 'idle' };
}

function voteReport(event: EventType, notificationType: 'revocable' | 'irrevocable', vote: VoteResult, reason: string): Report {
  return { kind: 'vote-result', event, notificationType, vote, reason };
}

/** Our next message counter: 1, 2 … INT32_MAX, then 1 again. */
function nextSequence(s: InstanceState): number {
  return s.sequence >= INT32_MAX ? 1 : s.sequence + 1;
}

function send(s: InstanceState, body: WireBody, fx: InstanceEffect[]): InstanceState {
  const sequence = nextSequence(s);
  fx.push({ type: 'send', body: { ...body, sequence } as WireBody });
  return { ...s, sequence };
}

function onTick(p: HeartbeatPolicy, s0: InstanceState, at: number, fx: InstanceEffect[]): InstanceState {
  const s = expireVote(s0, at, fx);
  if (s.link.kind === 'backing-off') {
    if (at < s.link.retryAt) return s;
    fx.push({ type: 'connect' });
    return { ...s, link: { kind: 'connecting' } };
  }
  if (s.link.kind !== 'connected') return s;
  let state = s;
  if (state.cycle.kind === 'cycling' && at >= state.cycle.scheduledAt + state.params.intervalMs) {
    state = onChallengeDue(p, state, at, fx);
  }
  if (at - state.lastSignAt >= p.reconnectIdleMs) {
    // No init or response for 120 s: reconnect, for every channel (daemons §2.5; §9 items 7, 29a).
    fx.push({ type: 'log', level: 'info', msg: 'no sign of life; reconnecting', fields: { idleMs: at - state.lastSignAt } });
    fx.push({ type: 'close-socket' }, { type: 'count', name: 'reconnect' }, { type: 'connect' });
    const stopped = stop(state, 'disconnect', fx);
    return { ...stopped, link: { kind: 'connecting' }, cycle: { kind: 'waiting-init' }, vote: keepOrFailVote(state, 'channel reconnect', fx), lastSignAt: at };
  }
  return state;
}

/**
 * A notice past its deadline is reported `timeout` (daemons §9 item 10), in every link state. A held notice
 * that expires means the departed guest did not come back within the notice's time: the departure ends, with
 * STOPPED(`suspend`) if it was heartbeating.
 */
function expireVote(s: InstanceState, at: number, fx: InstanceEffect[]): InstanceState {
  const v = s.vote;
  if (v.kind !== 'pending' || at < v.deadline) return s;
  const reason = v.held === true ? `guest did not initialise within ${v.timeoutMs} ms` : `no action_response within ${v.timeoutMs} ms`;
  fx.push({ type: 'report', report: voteReport(v.event, v.notificationType, 'timeout', reason) });
  const state: InstanceState = { ...s, vote: { kind: 'idle' } };
  if (v.held !== true || s.departure === undefined) return state;
  fx.push({ type: 'log', level: 'info', msg: 'departed guest did not come back in time', fields: { departedFor: s.departure.event } });
  return stop({ ...state, departure: undefined }, 'suspend', fx);
}

function onChallengeDue(p: HeartbeatPolicy, s: InstanceState, at: number, fx: InstanceEffect[]): InstanceState {
  if (s.cycle.kind !== 'cycling') return s;
  const interval = s.params.intervalMs;
  // Scheduled from the previous slot, not from now, so challenges do not drift; after a stall of a whole interval the
  // schedule is rebased onto its phase's slot nearest to now, not burst, and not gathered into one cluster.
  let slot = s.cycle.scheduledAt + interval;
  const scheduledAt = at - slot >= interval ? nearestOnPhase(at, interval, slot) : slot;
  if (at - slot >= interval) slot = at;
  if (s.answered) return challenge(p, s.lossHeldUntil === undefined ? s : { ...s, lossHeldUntil: undefined }, slot, at, 0, fx, scheduledAt);
  const misses = s.cycle.misses + 1;
  fx.push(COUNT_MISS);
  if (misses <= p.failureThreshold) {
    fx.push({ type: 'log', level: 'debug', msg: 'heartbeat miss', fields: { misses, threshold: p.failureThreshold } });
    return challenge(p, s, slot, at, misses, fx, scheduledAt);
  }
  if (s.departure !== undefined) {
    // A moving guest stops answering at its switch-over: expected, not a loss. Challenges stop until it re-inits.
    fx.push({ type: 'log', level: 'info', msg: 'departed guest stopped answering; waiting for its init', fields: { departedFor: s.departure.event, misses } });
    return { ...s, cycle: { kind: 'waiting-init' } };
  }
  if (s.lossHeldUntil === undefined) {
    const until = p.holdLoss?.(at);
    if (until !== undefined && until > at) {
      fx.push({ type: 'log', level: 'info', msg: 'heartbeat loss held: the host starved the guest', fields: { misses, holdMs: until - at } });
      return { ...challenge(p, s, slot, at, misses, fx, scheduledAt), lossHeldUntil: until };
    }
  } else if (at < s.lossHeldUntil) {
    return challenge(p, s, slot, at, misses, fx, scheduledAt);
  }
  return onLoss(p, { ...s, lossHeldUntil: undefined }, misses, fx);
}

/** Loss: STOPPED always, then LOSS when host and instance reporting allow (daemons §1.9, §9 item 8). */
function onLoss(p: HeartbeatPolicy, s: InstanceState, misses: number, fx: InstanceEffect[]): InstanceState {
  fx.push({ type: 'count', name: 'loss' });
  const stopped = stop(s, 'loss', fx);
  if (p.hostReporting && s.reporting) {
    fx.push({ type: 'log', level: 'warn', msg: 'heartbeat loss', fields: { misses } });
    fx.push({ type: 'report', report: { kind: 'loss', correctiveAction: s.params.correctiveAction } });
  } else {
    fx.push({ type: 'log', level: 'warn', msg: 'heartbeat loss not reported: reporting disabled', fields: { misses, hostReporting: p.hostReporting, reporting: s.reporting } });
  }
  return { ...stopped, cycle: { kind: 'waiting-init' } };
}

/** Sends a challenge due at `slot` (its lateness is at − slot); the next is due at `scheduledAt` + interval. */
function challenge(p: HeartbeatPolicy, s: InstanceState, slot: number, at: number, misses: number, fx: InstanceEffect[], scheduledAt = slot): InstanceState {
  const value = p.nextChallenge();
  // The hot path: one new state, one cycle and one effect per challenge (issue 17).
  const sequence = nextSequence(s);
  fx.push({ type: 'challenge', sequence, challenge: value, latenessMs: at - slot });
  const cycle: CycleState = { kind: 'cycling', challenge: value, scheduledAt, sentAt: at, misses };
  return heartbeatState(s, cycle, false, sequence, s.lastSignAt, s.heartbeating, s.unhealthy, s.lossHeldUntil);
}

/**
 * The state after a challenge or an answer, the two steps of every heartbeat: one object literal with every
 * field of InstanceState in its order (all states made here share one map, every field in the object). A
 * spread `{ ...s, … }` makes a 4-field object with a property array for the rest: 144-168 bytes against 136
 * (issue 17, measured with bench/hot-path.js).
 */
function heartbeatState(
  s: InstanceState, cycle: CycleState, answered: boolean, sequence: number, lastSignAt: number, heartbeating: boolean,
  unhealthy: InstanceState['unhealthy'], lossHeldUntil: number | undefined,
): InstanceState {
  return {
    link: s.link, cycle, answered, vote: s.vote, params: s.params, heartbeating, reporting: s.reporting, connectAttempt: s.connectAttempt,
    lastSignAt, unhealthy, sequence, departure: s.departure, initDeadline: s.initDeadline, lost: s.lost, lossHeldUntil,
  };
}

function onMessage(p: HeartbeatPolicy, s: InstanceState, at: number, m: WireMessage, fx: InstanceEffect[]): InstanceState {
  if (s.link.kind !== 'connected') return s;
  switch (m.msg_type) {
    case 'init':
      return onInit(p, s, at, m, fx);
    case 'challenge_response':
      return onResponse(p, s, at, m, fx);
    case 'action_response':
      return onActionResponse(s, at, m, fx);
    case 'exit':
      fx.push({ type: 'log', level: 'info', msg: 'guest exited', fields: { logMsg: m.log_msg } });
      if (s.departure?.kind === 'moving') {
        // A cold migration or resize powers the VM off: its exit is part of the move, not a stop.
        return { ...s, cycle: { kind: 'waiting-init' }, vote: keepOrFailVote(s, 'guest exited', fx) };
      }
      // Graceful stop: STOPPED, no loss (daemons §1.6 exit).
      return { ...stop(s, 'exit', fx), cycle: { kind: 'waiting-init' }, vote: failVote(s, 'guest exited', fx), departure: undefined };
    case 'init_ack':
    case 'challenge':
    case 'action_notify':
    case 'nack':
      // The decoder nacks these host-only types before they get here (daemons §1.6 nack).
      return s;
  }
}

function onInit(p: HeartbeatPolicy, s: InstanceState, at: number, m: WireMessage & { msg_type: 'init' }, fx: InstanceEffect[]): InstanceState {
  const intervalMs = Math.min(p.maxIntervalMs, Math.max(p.pulsePeriodMs, m.heartbeat_interval_ms));
  const secs = (v: number): number => Math.max(0, v);
  const params = {
    invocationId: m.invocation_id, name: m.name, correctiveAction: m.corrective_action, intervalMs,
    voteSecs: secs(m.vote_secs), shutdownSecs: secs(m.shutdown_notice_secs), suspendSecs: secs(m.suspend_notice_secs),
    resumeSecs: secs(m.resume_notice_secs), restartSecs: secs(m.restart_secs),
  };
  // The newest init is always acked, in any state (daemons §9 item 7: the original went silent instead).
  fx.push({ type: 'log', level: s.cycle.kind === 'cycling' ? 'info' : 'debug', msg: s.cycle.kind === 'cycling' ? 'guest re-initialised' : 'guest initialised', fields: { name: m.name, intervalMs, correctiveAction: m.corrective_action } });
  let state: InstanceState = { ...s, params, connectAttempt: 0, lastSignAt: at, unhealthy: undefined, departure: undefined, lossHeldUntil: undefined };
  state = send(state, { msg_type: 'init_ack', sequence: 0, invocation_id: m.invocation_id }, fx);
  // init_ack and the first challenge go out together (daemons §1.6); the cycle keeps the phase the server
  // gives the instance (challenge-phase.ts), or that of now.
  const phaseMs = p.challengePhaseMs?.(intervalMs);
  state = challenge(p, state, at, at, 0, fx, phaseMs === undefined ? at : nearestOnPhase(at, intervalMs, phaseMs));
  const v = state.vote;
  // A held notice goes out now that the guest is enabled; one sent before it came back is sent again, since
  // the guest drops an action in progress when it re-inits (client §7.1) and would never answer it.
  if (v.kind === 'pending' && (v.held === true || s.departure !== undefined)) state = deliverNotice(p, state, at, v, fx);
  return state;
}

/** Sends a held (or re-sent) notice with the time left of its window, at least 1 s; the deadline never shrinks. */
function deliverNotice(
  p: HeartbeatPolicy, s: InstanceState, at: number, v: InstanceState['vote'] & { kind: 'pending' }, fx: InstanceEffect[],
): InstanceState {
  const timeoutMs = Math.max(1000, v.deadline - p.voteGraceMs - at);
  fx.push({ type: 'log', level: 'info', msg: 'notice delivered after the guest initialised', fields: { event: v.event, notificationType: v.notificationType, timeoutMs } });
  const sent = send(s, {
    msg_type: 'action_notify', sequence: 0, invocation_id: s.params.invocationId, event_type: v.event,
    notification_type: v.notificationType, timeout_ms: timeoutMs,
  }, fx);
  return { ...sent, vote: { kind: 'pending', event: v.event, notificationType: v.notificationType, timeoutMs: v.timeoutMs, deadline: Math.max(v.deadline, at + timeoutMs + p.voteGraceMs) } };
}

function onResponse(
  p: HeartbeatPolicy, s: InstanceState, at: number, m: ChallengeResponseMessage, fx: InstanceEffect[],
): InstanceState {
  const c = s.cycle;
  if (c.kind !== 'cycling') {
    fx.push({ type: 'log', level: 'debug', msg: 'response while waiting for init: ignored' });
    return s;
  }
  if (s.answered) {
    fx.push({ type: 'count', name: 'late-response' });
    return s;
  }
  if (m.heartbeat_response !== c.challenge) {
    // No state change: the next tick counts a miss (daemons §1.6).
    fx.push({ type: 'count', name: 'mismatch' });
    return s;
  }
  fx.push({ type: 'response-latency', ms: at - c.sentAt });
  // The cycle is shared: only `answered` and the sign of life change.
  if (m.heartbeat_health !== 'healthy') {
    return onUnhealthy(p, heartbeatState(s, c, true, s.sequence, at, s.heartbeating, s.unhealthy, s.lossHeldUntil), at, m.corrective_action, m.log_msg, fx);
  }
  if (s.unhealthy !== undefined) fx.push({ type: 'log', level: 'info', msg: 'guest healthy again' });
  if (!s.heartbeating) fx.push({ type: 'report', report: { kind: 'running' } });
  if (s.lossHeldUntil !== undefined) {
    fx.push({ type: 'log', level: 'info', msg: 'held heartbeat loss dropped: the guest answered', fields: { misses: c.misses } });
  }
  // One new state per healthy response (the hot path).
  return heartbeatState(s, c, true, s.sequence, at, true, undefined, undefined);
}

/**
 * An unhealthy response still answers the challenge (daemons §1.10). Reported when it starts, when the
 * action changes, and then at most every illHealthRepeatMs; `none`/`unknown` are never reported.
 */
function onUnhealthy(
  p: HeartbeatPolicy, s: InstanceState, at: number, action: InstanceState['params']['correctiveAction'], logMsg: string, fx: InstanceEffect[],
): InstanceState {
  const prev = s.unhealthy;
  if (action === 'none' || action === 'unknown') {
    if (prev?.action !== action) fx.push({ type: 'log', level: 'info', msg: 'guest unhealthy; action not reportable', fields: { action, logMsg } });
    return { ...s, unhealthy: { action, reportedAt: undefined } };
  }
  const due = prev?.action !== action || prev.reportedAt === undefined || at - prev.reportedAt >= p.illHealthRepeatMs;
  if (!due) return s;
  fx.push({ type: 'count', name: 'ill-health' });
  fx.push({ type: 'log', level: 'warn', msg: 'guest unhealthy', fields: { action, logMsg } });
  fx.push({ type: 'report', report: { kind: 'ill-health', action, logMsg } });
  return { ...s, unhealthy: { action, reportedAt: at } };
}

function onActionResponse(s: InstanceState, at: number, m: WireMessage & { msg_type: 'action_response' }, fx: InstanceEffect[]): InstanceState {
  if (m.invocation_id !== s.params.invocationId) {
    fx.push({ type: 'count', name: 'nack' });
    return send(s, { msg_type: 'nack', sequence: 0, invocation_id: s.params.invocationId, log_msg: nackInvocationMismatch(m.invocation_id, s.params.invocationId) }, fx);
  }
  const v = s.vote;
  if (v.kind !== 'pending' || v.event !== m.event_type || v.notificationType !== m.notification_type) {
    fx.push({ type: 'log', level: 'warn', msg: 'action_response for no outstanding notice: dropped', fields: { event: m.event_type, result: m.vote_result } });
    return s;
  }
  fx.push({ type: 'report', report: voteReport(v.event, v.notificationType, m.vote_result, m.log_msg) });
  const state: InstanceState = { ...s, vote: { kind: 'idle' } };
  const agreed = m.vote_result === 'accept' || m.vote_result === 'complete';
  // Only an agreed irrevocable notice means the guest is about to go away; a vote (even accepted) or a
  // reject changes nothing (daemons §8.3, §9 item 9). What going away means depends on the event.
  const departure = agreed && v.notificationType === 'irrevocable' ? departureOf(v.event) : undefined;
  if (departure === undefined) return state;
  fx.push({ type: 'log', level: 'info', msg: 'guest departing', fields: { event: v.event, departure } });
  switch (departure) {
    case 'leaving':
      return { ...stop({ ...state, departure: undefined }, 'suspend', fx), cycle: { kind: 'waiting-init' } };
    case 'parked':
      return { ...state, cycle: { kind: 'waiting-init' }, departure: { event: v.event, kind: departure, since: at } };
    case 'moving':
      return { ...state, departure: { event: v.event, kind: departure, since: at } };
  }
}

function onAction(
  p: HeartbeatPolicy, s: InstanceState, at: number, event: EventType, notificationType: 'revocable' | 'irrevocable', fx: InstanceEffect[],
): InstanceState {
  // A paused guest keeps its socket and its session: the notice waits in the channel and is read on unpause.
  const reachable = s.link.kind === 'connected' && (s.cycle.kind === 'cycling' || s.departure?.kind === 'parked');
  if (!reachable) {
    const resumeNow = event === 'resume' && s.link.kind === 'backing-off';
    // The VM is back: reconnect now instead of waiting out the backoff (daemons §8.5).
    const state: InstanceState = resumeNow ? { ...s, link: { kind: 'connecting' } } : s;
    if (resumeNow) fx.push({ type: 'connect' });
    if (holdsNotice(event, s.departure !== undefined)) {
      failVote(s, `superseded by ${notificationType} ${event}`, fx);
      const timeoutMs = noticeTimeoutMs(s.params, event, notificationType);
      fx.push({ type: 'log', level: 'info', msg: 'notice held until the guest initialises', fields: { event, notificationType, timeoutMs } });
      return { ...state, vote: { kind: 'pending', event, notificationType, timeoutMs, deadline: at + Math.min(timeoutMs + p.voteGraceMs, INT32_MAX), held: true } };
    }
    const why = s.link.kind !== 'connected' ? 'guest channel not connected' : 'guest not initialised';
    fx.push({ type: 'report', report: voteReport(event, notificationType, 'error', why) });
    return state;
  }
  failVote(s, `superseded by ${notificationType} ${event}`, fx);
  const timeoutMs = noticeTimeoutMs(s.params, event, notificationType);
  const sent = send(s, {
    msg_type: 'action_notify', sequence: 0, invocation_id: s.params.invocationId, event_type: event,
    notification_type: notificationType, timeout_ms: timeoutMs,
  }, fx);
  return { ...sent, vote: { kind: 'pending', event, notificationType, timeoutMs, deadline: at + Math.min(timeoutMs + p.voteGraceMs, INT32_MAX) } };
}

/** The earliest time the instance needs a tick, or undefined: the session arms its one timer for it. */
export function nextDeadline(p: HeartbeatPolicy, s: InstanceState): number | undefined {
  // A notice's deadline counts in every link state (a held one waits while the guest is away).
  const vote = s.vote.kind === 'pending' ? s.vote.deadline : Infinity;
  let at: number;
  if (s.link.kind === 'backing-off') at = Math.min(vote, s.link.retryAt);
  else if (s.link.kind !== 'connected') at = vote;
  else {
    at = Math.min(vote, s.lastSignAt + p.reconnectIdleMs);
    if (s.cycle.kind === 'cycling') at = Math.min(at, s.cycle.scheduledAt + s.params.intervalMs);
  }
  at = Math.min(at, initDeadlineOf(s) ?? Infinity);
  return at === Infinity ? undefined : at;
}
