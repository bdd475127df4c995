/**
 * Issue 12 item 2, pure: a guest that was heartbeating and does not come back is lost. When the server
 * restarts (its knowledge restored from the state directory) or the channel of a heartbeating guest is
 * dropped and reconnected, the guest must send a new init within a deadline; if it does not (it hung while
 * nobody was watching), the loss is reported with its own corrective action, exactly like a loss while
 * connected (same reporting gates). Also tracks `lost` (condition `failed`) and restores persisted knowledge.
 *
 * It runs after the main reducer (heartbeat-machine.ts `stepInstance`) and reads what that step did from its
 * effects, so the heartbeat rules themselves stay as they are.
 */
import { CLIENT_INIT_RETRY_MS, CLIENT_MIN_CHALLENGE_TIMEOUT_MS, type CorrectiveAction, type EventType } from '@guesthb/protocol';
import type { GuestParams, InstanceEffect, InstanceState } from './instance-state.js';

/** The part of the policy these rules read. */
export interface InitDeadlinePolicy {
  /** Host-level reporting: gates loss reports. */
  readonly hostReporting: boolean;
  /** `[client] init_deadline_secs` in ms; undefined = derived from the guest's own timers (initDeadlineMs). */
  readonly initDeadlineMs?: number | undefined;
}

/** What guest-server persisted of an instance and gives back after a restart (instance-knowledge.ts). */
export interface RestoredKnowledge {
  readonly params: GuestParams;
  readonly reporting: boolean;
  readonly heartbeating: boolean;
  /** An init deadline was running when the knowledge was written. */
  readonly awaitingInit: boolean;
  readonly lost: CorrectiveAction | undefined;
  /** A vote or notice was outstanding: its result can only be `error` now. */
  readonly vote: { readonly event: EventType; readonly notificationType: 'revocable' | 'irrevocable' } | undefined;
  /** A departure under way (paused, suspended, migrating): the guest is expected to be away, no deadline. */
  readonly departure: { readonly event: EventType; readonly kind: 'parked' | 'moving' } | undefined;
}

export type RestoredEvent = { readonly type: 'restored'; readonly at: number; readonly knowledge: RestoredKnowledge };

/**
 * The default deadline: a live reference guest-client notices the silence after its challenge timeout
 * (max(2 × interval, 5 s)) and then sends init at once and every 5 s (HB_INIT_RETRY); three retries of
 * margin (a restart, a slow boot of the channel). 20 s for a 1 s interval.
 */
export function initDeadlineMs(p: InitDeadlinePolicy, params: GuestParams): number {
  return p.initDeadlineMs ?? Math.max(2 * params.intervalMs, CLIENT_MIN_CHALLENGE_TIMEOUT_MS) + 3 * CLIENT_INIT_RETRY_MS;
}

/** The restore step: persisted knowledge back into a fresh record (which has no channel yet). */
export function restoreInstance(p: InitDeadlinePolicy, s: InstanceState, e: RestoredEvent, fx: InstanceEffect[]): InstanceState {
  const k = e.knowledge;
  const awaiting = (k.heartbeating || k.awaitingInit) && k.departure === undefined;
  fx.push({ type: 'log', level: 'info', msg: 'instance restored from the state directory', fields: { heartbeating: k.heartbeating, awaitingInit: awaiting, lost: k.lost } });
  if (k.vote !== undefined) {
    // The notice died with the old process: its result can only be an error now (issue 12 item 7).
    fx.push({ type: 'report', report: { kind: 'vote-result', event: k.vote.event, notificationType: k.vote.notificationType, vote: 'error', reason: 'guest-server restarted while the notice was outstanding' } });
  }
  return {
    ...s, params: k.params, reporting: k.reporting, heartbeating: k.heartbeating, lost: k.lost,
    initDeadline: awaiting ? e.at + initDeadlineMs(p, k.params) : undefined,
    departure: k.departure === undefined ? undefined : { ...k.departure, since: e.at },
  };
}

/**
 * Applied after every other step: arms, clears or fires the init deadline and keeps `lost`. Reads the step's
 * effects from fx[from] on. No patch closure or state copy when nothing changes (every heartbeat, issue 17).
 */
export function applyInitDeadline(
  p: InitDeadlinePolicy, before: InstanceState, after: InstanceState, at: number, fx: InstanceEffect[], from = 0,
): InstanceState {
  let lost = after.lost;
  let initDeadline = after.initDeadline;
  let setLost = false;
  let setDeadline = false;
  for (let i = from; i < fx.length; i++) {
    const f = fx[i] as InstanceEffect;
    if (f.type === 'count' && f.name === 'loss' && lost === undefined) {
      lost = before.params.correctiveAction;
      setLost = true;
    } else if (f.type === 'send' && f.body.msg_type === 'init_ack' && (initDeadline !== undefined || lost !== undefined)) {
      initDeadline = undefined;
      lost = undefined;
      setDeadline = setLost = true;
    } else if (f.type === 'report' && f.report.kind === 'stopped') {
      // A heartbeating guest whose channel dropped must come back; any other stop (exit, suspend, channel
      // removed, loss) ends the watch.
      // A deadline already running is kept: a flapping channel does not postpone it.
      if (f.report.reason === 'disconnect') {
        initDeadline ??= at + initDeadlineMs(p, before.params);
        setDeadline = true;
      } else if (initDeadline !== undefined) {
        initDeadline = undefined;
        setDeadline = true;
      }
    }
  }
  if (initDeadline !== undefined && after.link.kind === 'no-channel' && before.link.kind !== 'no-channel') {
    initDeadline = undefined;   // the channel file went away: the VM is gone, not hung
    setDeadline = true;
  }
  // The keys a patch would have added, and only those (a state compared with toStrictEqual keeps its shape).
  let s = after;
  if (setLost) s = { ...s, lost };
  if (setDeadline) s = { ...s, initDeadline };
  if (initDeadline !== undefined && after.link.kind !== 'no-channel' && at >= initDeadline) return onInitDeadline(p, s, fx);
  return s;
}

function onInitDeadline(p: InitDeadlinePolicy, s: InstanceState, fx: InstanceEffect[]): InstanceState {
  fx.push({ type: 'count', name: 'loss' });
  if (s.heartbeating) fx.push({ type: 'report', report: { kind: 'stopped', reason: 'loss' } });
  if (p.hostReporting && s.reporting) {
    fx.push({ type: 'log', level: 'warn', msg: 'heartbeat loss: no init after a restart or reconnect', fields: { correctiveAction: s.params.correctiveAction } });
    fx.push({ type: 'report', report: { kind: 'loss', correctiveAction: s.params.correctiveAction } });
  } else {
    fx.push({ type: 'log', level: 'warn', msg: 'heartbeat loss not reported: reporting disabled', fields: { hostReporting: p.hostReporting, reporting: s.reporting } });
  }
  return { ...s, heartbeating: false, initDeadline: undefined, lost: s.params.correctiveAction };
}

/** The init deadline as a timer deadline (it counts only while a channel is known). */
export function initDeadlineOf(s: InstanceState): number | undefined {
  return s.link.kind === 'no-channel' ? undefined : s.initDeadline;
}
