/**
 * The state of one instance as data (STYLE.md R4, R7): link, heartbeat cycle, vote, guest parameters.
 * Pure types and constructors; the rules live in heartbeat-machine.ts.
 */
import {
  DEFAULT_CORRECTIVE_ACTION, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_NOTICE_SECS, DEFAULT_RESTART_SECS,
  type CorrectiveAction, type EventType, type StopReason, type VoteResult, type WireBody,
} from '@guesthb/protocol';

/** The socket link to the guest's channel (daemons §1.3). */
export type LinkState =
  /** No channel file known (created by the agent, or the file went away). */
  | { readonly kind: 'no-channel' }
  /** A connect attempt is in flight. */
  | { readonly kind: 'connecting' }
  /** Waiting before the next attempt (1, 2, 4 … 60 s). */
  | { readonly kind: 'backing-off'; readonly retryAt: number }
  | { readonly kind: 'connected'; readonly since: number };

/** The heartbeat cycle (daemons §1.9), meaningful while connected. */
export type CycleState =
  /** Connected, waiting for the guest's init (hbState server_waiting_init). */
  | { readonly kind: 'waiting-init' }
  /**
   * Challenging: one challenge per interval, answered or not (InstanceState.answered: false =
   * server_waiting_response, true = server_waiting_challenge). The next challenge is due at
   * `scheduledAt + intervalMs`.
   */
  | {
      readonly kind: 'cycling';
      readonly challenge: number;
      readonly scheduledAt: number;
      readonly sentAt: number;
      readonly misses: number;
    };

/** An outstanding vote or notification (vnState client_waiting_shutdown_response, daemons §8.2). */
export type VoteState =
  | { readonly kind: 'idle' }
  | {
      readonly kind: 'pending';
      readonly event: EventType;
      readonly notificationType: 'revocable' | 'irrevocable';
      readonly timeoutMs: number;
      readonly deadline: number;
      /** Not sent yet: it waits for the guest's init (README "Departure and return"), until `deadline`. */
      readonly held?: boolean;
    };

/**
 * An agreed irrevocable notice after which the guest goes away for a while and comes back (vote-rules
 * `departureOf`): heartbeating is kept and losing the guest is expected, until it re-initialises.
 */
export interface Departure {
  readonly event: EventType;
  readonly kind: 'parked' | 'moving';
  readonly since: number;
}

/** What the guest declared in its init (defaults before any init: daemons §2.1). */
export interface GuestParams {
  readonly invocationId: number;
  readonly name: string;
  readonly correctiveAction: CorrectiveAction;
  readonly intervalMs: number;
  readonly voteSecs: number;
  readonly shutdownSecs: number;
  readonly suspendSecs: number;
  readonly resumeSecs: number;
  readonly restartSecs: number;
}

export const DEFAULT_GUEST_PARAMS: GuestParams = Object.freeze({
  invocationId: 0,
  name: '',
  correctiveAction: DEFAULT_CORRECTIVE_ACTION,
  intervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  voteSecs: DEFAULT_NOTICE_SECS,
  shutdownSecs: DEFAULT_NOTICE_SECS,
  suspendSecs: DEFAULT_NOTICE_SECS,
  resumeSecs: DEFAULT_NOTICE_SECS,
  restartSecs: DEFAULT_RESTART_SECS,
});

/** The last unhealthy report, so a persisting condition is not re-reported every interval. */
export interface UnhealthyState {
  readonly action: CorrectiveAction;
  readonly reportedAt: number | undefined;
}

export interface InstanceState {
  readonly link: LinkState;
  readonly cycle: CycleState;
  /**
   * The cycle's challenge has been answered; meaningful while cycling (every challenge sets it false). Beside
   * the cycle, not in it, so an answer makes a new state and shares the cycle (issue 17).
   */
  readonly answered: boolean;
  readonly vote: VoteState;
  readonly params: GuestParams;
  /** True after a healthy response following an init; false after any stop (daemons §2.1). */
  readonly heartbeating: boolean;
  /** Instance-level reporting, set by the agent; gates loss reports only. */
  readonly reporting: boolean;
  /** Consecutive failed connect attempts (backoff exponent); reset by a valid init. */
  readonly connectAttempt: number;
  /** Last sign of life: connect, valid init or valid response. Drives the 120 s reconnect audit. */
  readonly lastSignAt: number;
  readonly unhealthy: UnhealthyState | undefined;
  /** Our own message counter (daemons §9 item 28: not the guest's). */
  readonly sequence: number;
  /** Set between an agreed pause/suspend/*_begin notice and the guest's next init; absent otherwise. */
  readonly departure?: Departure | undefined;
  /**
   * When the guest was heartbeating before a server restart or a channel reconnect: the time by which its
   * init must arrive, else it is lost (issue 12 item 2, init-deadline.ts). Absent otherwise.
   */
  readonly initDeadline?: number | undefined;
  /** The corrective action of a loss not yet followed by an init (condition `failed`). Absent otherwise. */
  readonly lost?: CorrectiveAction | undefined;
  /** A due loss held until then because the host starved the guest (issue 16 item 4). Absent otherwise. */
  readonly lossHeldUntil?: number | undefined;
}

/**
 * A fresh record: no channel yet, reporting as given (daemons §2.1 defaults). Every field is present, the
 * optional ones undefined, in the order of the heartbeat's states (heartbeat-machine.ts `heartbeatState`), so
 * that a session's states share one map (issue 17).
 */
export function initialInstanceState(now: number, reporting = false): InstanceState {
  return {
    link: { kind: 'no-channel' },
    cycle: { kind: 'waiting-init' },
    answered: false,
    vote: { kind: 'idle' },
    params: DEFAULT_GUEST_PARAMS,
    heartbeating: false,
    reporting,
    connectAttempt: 0,
    lastSignAt: now,
    unhealthy: undefined,
    sequence: 0,
    departure: undefined,
    initDeadline: undefined,
    lost: undefined,
    lossHeldUntil: undefined,
  };
}

/** Host-visible state names of the original (hbState, daemons §2.2), for queries, logs and metrics. */
export type HbStateName = 'disconnected' | 'server_waiting_init' | 'server_waiting_response' | 'server_waiting_challenge';

export function hbStateName(state: InstanceState): HbStateName {
  if (state.link.kind !== 'connected') return 'disconnected';
  if (state.cycle.kind === 'waiting-init') return 'server_waiting_init';
  return state.answered ? 'server_waiting_challenge' : 'server_waiting_response';
}

/** Something to tell the agent; the session adds id, hostname, time and instance info. */
export type Report =
  | { readonly kind: 'running' }
  | { readonly kind: 'stopped'; readonly reason: StopReason }
  | { readonly kind: 'ill-health'; readonly action: CorrectiveAction; readonly logMsg: string }
  | { readonly kind: 'loss'; readonly correctiveAction: CorrectiveAction }
  | {
      readonly kind: 'vote-result';
      readonly event: EventType;
      readonly notificationType: 'revocable' | 'irrevocable';
      readonly vote: VoteResult;
      readonly reason: string;
    };

/** Counters the driver feeds into metrics. */
export type CountName = 'challenge' | 'miss' | 'loss' | 'ill-health' | 'reconnect' | 'nack' | 'mismatch' | 'late-response';

/** Effects of a step, performed in order by the session (STYLE.md R4). */
export type InstanceEffect =
  | { readonly type: 'send'; readonly body: WireBody }
  /**
   * Every heartbeat's challenge, one object (issue 17): send it (the body { msg_type: 'challenge', sequence,
   * heartbeat_challenge: challenge }), count it, and observe how late it went out against its schedule
   * (timer and event-loop delay).
   */
  | { readonly type: 'challenge'; readonly sequence: number; readonly challenge: number; readonly latenessMs: number }
  | { readonly type: 'connect' }
  | { readonly type: 'close-socket' }
  | { readonly type: 'report'; readonly report: Report }
  | { readonly type: 'count'; readonly name: CountName }
  | { readonly type: 'response-latency'; readonly ms: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Readonly<Record<string, unknown>> };

export type InstanceStep = readonly [InstanceState, readonly InstanceEffect[]];
