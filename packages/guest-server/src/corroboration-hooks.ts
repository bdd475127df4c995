/**
 * What an instance session gives the corroborator (issue 16), built once per session by guest-server.ts:
 * its policy with holdLoss (defer-starved), its metrics sink also feeding the forensics ring, the moment its
 * channel connects (find the VMM again) and the guest's log_msg. With corroborate = off the session gets the
 * shared policy and metrics unchanged, so the hot path costs nothing extra.
 */
import type { Corroborator, InstanceTracker } from './corroborator.js';
import type { HeartbeatPolicy } from './heartbeat-machine.js';
import type { InstanceLogger } from './instance-log.js';
import type { BudgetDropKind } from './guest-budget.js';
import type { CountName, InstanceState } from './instance-state.js';
import type { SessionMetrics } from './instance-session.js';

export interface SessionHooks {
  readonly policy: () => HeartbeatPolicy;
  readonly metrics: SessionMetrics;
  /** After a step: a channel that just connected may belong to a new QEMU process. */
  readonly onStep: (state: InstanceState, before: InstanceState, channelPath: string | undefined) => void;
  /** A non-empty log_msg from the guest, or undefined when not wanted. */
  readonly onGuestLogMsg: ((logMsg: string) => void) | undefined;
}

export interface SessionHooksInput {
  readonly corroborator: Corroborator;
  readonly uuid: string;
  readonly log: InstanceLogger;
  /** The shared policy (it changes at SIGHUP and PUT /v1/host). */
  readonly policy: () => HeartbeatPolicy;
  readonly metrics: SessionMetrics;
  /** The instance's current heartbeat interval. */
  readonly intervalMs: () => number;
}

const NO_STEP = (): void => undefined;

export function sessionHooks(input: SessionHooksInput): SessionHooks {
  const { corroborator: c, uuid, log } = input;
  if (!c.active) return { policy: input.policy, metrics: input.metrics, onStep: NO_STEP, onGuestLogMsg: undefined };
  const t = c.tracker(uuid);
  // Only defer-starved needs holdLoss, in the session's own policy: rebuilt when the shared one changes, not per step.
  let base: HeartbeatPolicy | undefined;
  let own: HeartbeatPolicy | undefined;
  const policy = !c.defers ? input.policy : (): HeartbeatPolicy => {
    const shared = input.policy();
    if (shared !== base || own === undefined) {
      base = shared;
      own = { ...shared, holdLoss: (at) => c.holdLoss(uuid, at, log) };
    }
    return own;
  };
  return new CorroboratedHooks(policy, input.metrics, t, input.intervalMs, c, uuid);
}

/**
 * The hooks of a corroborated instance, and its metrics sink that also feeds the forensics ring: one object
 * per instance with its methods on the prototype, not eight closures and their contexts (issue 17 item 4).
 */
class CorroboratedHooks implements SessionHooks, SessionMetrics {
  readonly policy: () => HeartbeatPolicy;
  readonly onGuestLogMsg: (logMsg: string) => void;
  readonly #m: SessionMetrics;
  readonly #t: InstanceTracker;
  readonly #intervalMs: () => number;
  readonly #c: Corroborator;
  readonly #uuid: string;

  constructor(policy: () => HeartbeatPolicy, m: SessionMetrics, t: InstanceTracker, intervalMs: () => number, c: Corroborator, uuid: string) {
    this.policy = policy;
    this.onGuestLogMsg = (text) => t.logMsg(text);
    this.#m = m;
    this.#t = t;
    this.#intervalMs = intervalMs;
    this.#c = c;
    this.#uuid = uuid;
  }

  get metrics(): SessionMetrics {
    return this;
  }

  count(name: CountName): void {
    this.#m.count(name);
    if (name === 'miss') this.#t.missed(this.#intervalMs());
  }

  observeLatencyMs(ms: number): void {
    this.#m.observeLatencyMs(ms);
    this.#t.answered(ms);
  }

  observeLatenessMs(ms: number): void {
    this.#m.observeLatenessMs(ms);
  }

  budgetDrop(kind: BudgetDropKind, n?: number): void {
    this.#m.budgetDrop?.(kind, n);
  }

  logSuppressed(): void {
    this.#m.logSuppressed?.();
  }

  /** After a step: a channel that just connected may belong to a new QEMU process. */
  onStep(state: InstanceState, before: InstanceState, channelPath: string | undefined): void {
    if (state.link.kind === 'connected' && before.link.kind !== 'connected' && channelPath !== undefined) this.#c.connected(this.#uuid, channelPath);
  }
}
