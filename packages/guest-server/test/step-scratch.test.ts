/** stepInstance collects effects in a scratch array (issue 17): each step still returns an array of its own. */
import { describe, expect, it } from 'vitest';
import { initialInstanceState, stepInstance, type HeartbeatPolicy, type InstanceEffect, type InstanceEvent, type InstanceState } from '../src/index.js';
import { INIT, policy } from './helpers/machine.js';

function connected(p: HeartbeatPolicy): [InstanceState, InstanceEffect[]] {
  let s = initialInstanceState(0);
  const events: InstanceEvent[] = [{ type: 'channel-found', at: 0 }, { type: 'connected', at: 1 }, { type: 'message', at: 2, message: INIT }];
  let fx: InstanceEffect[] = [];
  for (const e of events) [s, fx] = stepInstance(p, s, e) as [InstanceState, InstanceEffect[]];
  return [s, fx];
}

describe('stepInstance effect arrays', () => {
  it('a later step leaves the effects an earlier one returned untouched', () => {
    const p = policy();
    const [s, fx] = connected(p);
    const copy = structuredClone(fx);
    const [, later] = stepInstance(p, s, { type: 'tick', at: 1_002 });
    expect(later).not.toBe(fx);
    expect(fx).toEqual(copy);
    expect(fx.map((f) => f.type)).toEqual(expect.arrayContaining(['send', 'challenge']));
  });

  it('a step made from inside an injected policy function (re-entrant) gives both callers their own effects', () => {
    // Challenge values differ between the policies' counters: compare the effects without them.
    const shape = (fx: readonly InstanceEffect[]): unknown[] => fx.map((f) => (f.type === 'challenge' ? { ...f, challenge: 0 } : f));
    const plain = policy();
    const [s] = connected(plain);
    const [, expected] = stepInstance(plain, s, { type: 'tick', at: 1_002 });
    let inner: readonly InstanceEffect[] = [];
    const reentrant = policy({
      nextChallenge: () => {
        inner = stepInstance(plain, s, { type: 'tick', at: 1_002 })[1];
        return 7;
      },
    });
    const [, outer] = stepInstance(reentrant, s, { type: 'tick', at: 1_002 });
    expect(shape(expected).length).toBeGreaterThan(1);
    expect(shape(outer)).toEqual(shape(expected));
    expect(shape(inner)).toEqual(shape(expected));
    expect(outer).not.toBe(inner);
  });
});
