/**
 * What an instance session gives the corroborator (issue 16), built once per session by guest-server.ts:
 * its policy with holdLoss (defer-starved), its metrics sink also feeding the forensics ring, the moment its
 * channel connects (find the VMM again) and the guest's log_msg. With corroborate = off the session gets the
 * shared policy and metrics unchanged, so the hot path costs nothing extra.
 */
import type { Logger } from 'pino';
import type { Corroborator } from './corroborator.js';
import type { HeartbeatPolicy } from './heartbeat-machine.js';
import type { InstanceState } from './instance-state.js';
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
  readonly log: Logger;
  /** The shared policy (it changes at SIGHUP and PUT /v1/host). */
  readonly policy: () => HeartbeatPolicy;
  readonly metrics: SessionMetrics;
  /** The instance's current heartbeat interval. */
  readonly intervalMs: () => number;
}

export function sessionHooks(input: SessionHooksInput): SessionHooks {
  const { corroborator: c, uuid, log, metrics: m } = input;
  if (!c.active) return { policy: input.policy, metrics: m, onStep: () => undefined, onGuestLogMsg: undefined };
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
  const metrics: SessionMetrics = {
    count: (name) => {
      m.count(name);
      if (name === 'miss') t.missed(input.intervalMs());
    },
    observeLatencyMs: (ms) => {
      m.observeLatencyMs(ms);
      t.answered(ms);
    },
    observeLatenessMs: (ms) => m.observeLatenessMs(ms),
    budgetDrop: (kind, n) => m.budgetDrop?.(kind, n),
    logSuppressed: () => m.logSuppressed?.(),
  };
  const onStep = (state: InstanceState, before: InstanceState, channelPath: string | undefined): void => {
    if (state.link.kind === 'connected' && before.link.kind !== 'connected' && channelPath !== undefined) c.connected(uuid, channelPath);
  };
  return { policy, metrics, onStep, onGuestLogMsg: t.logMsg };
}
