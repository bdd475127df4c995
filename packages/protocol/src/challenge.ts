/** The challenge contract (daemons §1.8): a random integer the guest echoes; no arithmetic. */
import { MAX_CHALLENGE } from './constants.js';

/** A source of uniform numbers in [0, 1), like Math.random; injected so tests are exact. */
export type RandomSource = () => number;

/** Draws a challenge (or invocation id) in 0..2^31-1 from `random`. [CHAL-1] */
export function drawChallenge(random: RandomSource): number {
  const value = Math.floor(random() * (MAX_CHALLENGE + 1));
  return Math.min(MAX_CHALLENGE, Math.max(0, value));
}

/** A response is valid only if it echoes the last challenge sent; none is valid before any challenge. [CHAL-2] */
export function isValidResponse(lastChallenge: number | undefined, response: number): boolean {
  return lastChallenge !== undefined && response === lastChallenge;
}
