/** Reconnect and retry delays as pure policy (STYLE.md R8). */

export interface BackoffPolicy {
  /** Delay of the first retry. */
  readonly baseMs: number;
  /** Ceiling of any delay. */
  readonly maxMs: number;
  /** Fraction of the delay randomised (0 = exact doubling as the original; 0.5 = ±25 %). */
  readonly jitter?: number;
}

/**
 * Delay before retry number `attempt` (1-based): base × 2^(attempt-1), capped at maxMs, with optional
 * jitter from `random` in [0,1). With base 1000 and max 60000: 1, 2, 4 … 32, 60, 60 s (daemons §1.3).
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = () => 0.5): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jitter = policy.jitter ?? 0;
  if (jitter <= 0) return ceiling;
  const spread = ceiling * jitter;
  return Math.max(0, Math.round(ceiling - spread / 2 + random() * spread));
}
