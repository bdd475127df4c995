/**
 * The arrays a session's steps put their effects in (heartbeat-machine.ts stepInto): no array per step (issue
 * 17). Edge code of the session, not the reducer: the reducer only appends to the array it is given.
 */
import type { InstanceEffect } from './instance-state.js';

/**
 * Effects arrays, one per depth of nested dispatch (an effect may step another session: onReport, onStep),
 * shared by all sessions and emptied after each step's effects are performed: no array per step (issue 17).
 */
const EFFECTS: InstanceEffect[][] = [];
let effectsDepth = 0;

export function enterEffects(): InstanceEffect[] {
  let fx = EFFECTS[effectsDepth];
  if (fx === undefined) EFFECTS.push(fx = []);
  effectsDepth++;
  return fx;
}

export function leaveEffects(fx: InstanceEffect[]): void {
  clearEffects(fx);
  effectsDepth--;
}

/** pop, not `length = 0`, which would drop the backing store the array is kept for. */
export function clearEffects(fx: InstanceEffect[]): void {
  while (fx.length > 0) fx.pop();
}
