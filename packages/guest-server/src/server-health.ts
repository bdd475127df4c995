/**
 * Honest health (issue 11 item 6): what keeps guest-server from doing its job although it runs. It is not
 * `ok` while it cannot deliver to the agent (the oldest unacknowledged event is older than a bound, the
 * agent is unreachable or refuses our token) or while no agent has ever commanded it (a wrong [client]
 * hostname or advertise_url: the agent registered us but cannot reach us; or the agent refuses our token).
 * Pure: the server passes its outbox figures and clock.
 */
import { isLoopbackAddress } from '@guesthb/daemon-kit';

/** An event unacknowledged this long means the agent is not getting our events. */
export const HEALTH_UNACKED_BOUND_MS = 15_000;
/** Failed deliveries in a row before the agent counts as unreachable. */
export const HEALTH_FAILURES_BOUND = 2;

export interface ServerHealthInput {
  readonly outbox: { readonly depth: number; readonly oldestUnackedAgeMs: number; readonly consecutiveFailures: number; readonly lastError?: string };
  readonly lastCommandAt: number | undefined;
  readonly now: number;
  readonly authenticated: boolean;
  readonly bindAddress: string;
}

export interface ServerHealthDetail {
  /** Why the daemon is degraded (empty when ok). */
  readonly reasons: readonly string[];
  /** Not a degradation, but an operator must know (an unauthenticated peer port by opt-out). */
  readonly warnings: readonly string[];
  /** Seconds since the agent's last command, or null when it never sent one. */
  readonly lastAgentCommandSecs: number | null;
}

export function serverHealth(h: ServerHealthInput): ServerHealthDetail {
  const reasons: string[] = [];
  const o = h.outbox;
  const refused = o.lastError !== undefined && /HTTP 401|HTTP 403/.test(o.lastError);
  if (refused && o.consecutiveFailures > 0) reasons.push('agent refuses our token (HTTP 401): the token files differ');
  else if (o.consecutiveFailures >= HEALTH_FAILURES_BOUND) reasons.push(`agent unreachable: ${o.lastError ?? 'delivery failing'}`);
  if (o.depth > 0 && o.oldestUnackedAgeMs > HEALTH_UNACKED_BOUND_MS) {
    reasons.push(`oldest event unacknowledged for ${Math.round(o.oldestUnackedAgeMs / 1000)} s`);
  }
  if (h.lastCommandAt === undefined) {
    reasons.push('no command from the agent yet: it cannot reach us (check [client] hostname / advertise_url) or refuses our token');
  }
  const warnings: string[] = [];
  if (!h.authenticated && !isLoopbackAddress(h.bindAddress)) {
    warnings.push(`peer API unauthenticated on ${h.bindAddress} ([client] allow_unauthenticated = true)`);
  }
  return {
    reasons, warnings,
    lastAgentCommandSecs: h.lastCommandAt === undefined ? null : Math.round((h.now - h.lastCommandAt) / 1000),
  };
}
