/**
 * What an instance session gives the corroborator (issue 16), built once per session by guest-server.ts:
 * its policy with holdLoss (defer-starved), its metrics sink also feeding the forensics ring and the guest's
 * log_msg (the moment its channel connects goes to Corroborator.stepped). With corroborate = off the session gets the
 * shared policy and metrics unchanged, so the hot path costs nothing extra.
 */
import type { Corroborator, InstanceTracker } from './corroborator.js';
import type { HeartbeatPolicy } from './heartbeat-machine.js';
import type { InstanceLogger } from './instance-log.js';
import type { BudgetDropKind } from './guest-budget.js';
import type { CountName } from './instance-state.js';
import type { SessionMetrics } from './instance-session.js';

export interface SessionHooks {
  readonly policy: () => HeartbeatPolicy;
  readonly metrics: SessionMetrics;
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

export function sessionHooks(input: SessionHooksInput): SessionHooks {
  const { corroborator: c, uuid, log } = input;
  if (!c.active) return { policy: input.policy, metrics: input.metrics, onGuestLogMsg: undefined };
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
  return new CorroboratedHooks(policy, input.metrics, t, input.intervalMs);
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

  constructor(policy: () => HeartbeatPolicy, m: SessionMetrics, t: InstanceTracker, intervalMs: () => number) {
    this.policy = policy;
    this.onGuestLogMsg = (text) => t.logMsg(text);
    this.#m = m;
    this.#t = t;
    this.#intervalMs = intervalMs;
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
}
