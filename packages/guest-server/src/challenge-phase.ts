/**
 * Where each instance's challenges fall within its interval (issue 17, README "Challenge phases").
 *
 * The original challenges a guest one interval after its init, so the phase of its schedule is the moment it
 * initialised: guests that start together are challenged together, in one cluster per interval. A cluster is
 * cheap (one wake-up of the server for all of them) but fragile: one late wake-up of the host (a VM's vCPU
 * coming back from idle, a scavenge) makes every guest of the cluster late at once, twice (the late interval
 * and the short one after it), which is what sets the jitter tail. Challenging every guest at its own moment
 * costs a wake-up per guest. The server instead places each instance, at its init, on one of `phases` evenly
 * spaced phases of its interval, `guestsPerPhase` instances on a phase before the next phase is opened, and
 * the phases in an order that keeps the open ones spread over the interval (bit-reversed: 0, ½, ¼, ¾, ⅛ …).
 * A late wake-up then touches at most `guestsPerPhase` guests, and a server wakes at most `phases` times per
 * interval.
 */

/** The time on the schedule `onPhaseAt + k × intervalMs` nearest to `at`, in (at − interval/2, at + interval/2]. */
export function nearestOnPhase(at: number, intervalMs: number, onPhaseAt: number): number {
  const ahead = (((onPhaseAt - at) % intervalMs) + intervalMs) % intervalMs;
  return ahead > intervalMs / 2 ? at + ahead - intervalMs : at + ahead;
}

/** Hands out phases round-robin (counting claims, not occupants: a guest that goes away leaves no hole to track). */
export class ChallengePhases {
  readonly #phases: number;
  readonly #bits: number;
  readonly #guestsPerPhase: number;
  #claims = 0;

  /** `phases` a power of two (1 … 1024); `guestsPerPhase` ≥ 1. */
  constructor(phases: number, guestsPerPhase: number) {
    if (!Number.isInteger(phases) || phases < 1 || phases > 1024 || (phases & (phases - 1)) !== 0) {
      throw new RangeError(`phases must be a power of two in 1..1024, got ${phases}`);
    }
    if (!Number.isInteger(guestsPerPhase) || guestsPerPhase < 1) throw new RangeError(`guestsPerPhase must be ≥ 1, got ${guestsPerPhase}`);
    this.#phases = phases;
    this.#bits = Math.log2(phases);
    this.#guestsPerPhase = guestsPerPhase;
  }

  /** The phase of the next instance to start heartbeating: ms into its interval, in [0, intervalMs). */
  readonly phaseMs = (intervalMs: number): number => {
    const k = Math.floor(this.#claims / this.#guestsPerPhase) % this.#phases;
    this.#claims = (this.#claims + 1) % (this.#phases * this.#guestsPerPhase);
    return (reverseBits(k, this.#bits) / this.#phases) * intervalMs;
  };
}

function reverseBits(value: number, bits: number): number {
  let out = 0;
  for (let i = 0; i < bits; i++) out = (out << 1) | ((value >> i) & 1);
  return out;
}
