/**
 * Issue 12 item 2 as properties (fast-check; the seed is printed on failure): whatever happens to the
 * channel of a guest that was heartbeating before a restart (connects, failures, disconnects, garbage,
 * votes), as long as it sends no init, no exit and its channel file stays, it is reported lost exactly once,
 * with its own corrective action, no later than the deadline plus the timer's own delay; and the session's
 * one timer is always armed for that deadline.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initialInstanceState, nextDeadline, stepInstance, type InstanceEvent, type InstanceState } from '../src/index.js';
import { DEFAULT_GUEST_PARAMS, type Report } from '../src/instance-state.js';
import { policy } from './helpers/machine.js';

const DEADLINE_MS = 5_000;
type Step = { readonly kind: 'found' | 'connected' | 'disconnected' | 'connect-failed' | 'garbage' | 'vote' | 'tick'; readonly gapMs: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('found' as const, 'connected' as const, 'disconnected' as const, 'connect-failed' as const, 'garbage' as const, 'vote' as const, 'tick' as const),
  gapMs: fc.integer({ min: 0, max: 1_500 }),
});

function eventOf(step: Step, at: number): InstanceEvent {
  switch (step.kind) {
    case 'found': return { type: 'channel-found', at };
    case 'connected': return { type: 'connected', at };
    case 'disconnected': return { type: 'disconnected', at, cause: 'EOF' };
    case 'connect-failed': return { type: 'connect-failed', at, error: 'ECONNREFUSED' };
    case 'garbage': return { type: 'bad-message', at, reason: 'not json', nack: undefined };
    case 'vote': return { type: 'action', at, event: 'stop', notificationType: 'revocable' };
    case 'tick': return { type: 'tick', at };
  }
}

describe('init deadline properties', () => {
  it('a guest that never re-inits is lost exactly once, with its own action, in time', () => {
    fc.assert(fc.property(fc.constantFrom('reboot' as const, 'stop' as const, 'log' as const), fc.array(stepArb, { maxLength: 60 }), (action, steps) => {
      const p = policy({ initDeadlineMs: DEADLINE_MS });
      const params = { ...DEFAULT_GUEST_PARAMS, correctiveAction: action, intervalMs: 1_000 };
      let s: InstanceState = stepInstance(p, initialInstanceState(0, true), {
        type: 'restored', at: 0, knowledge: { params, reporting: true, heartbeating: true, awaitingInit: false, lost: undefined, vote: undefined, departure: undefined },
      })[0];
      const losses: Report[] = [];
      const lossAt: number[] = [];
      let now = 0;
      const apply = (e: InstanceEvent): void => {
        const [next, fx] = stepInstance(p, s, e);
        s = next;
        for (const f of fx) {
          if (f.type === 'report' && f.report.kind === 'loss') {
            losses.push(f.report);
            lossAt.push(e.at);
          }
        }
      };
      apply({ type: 'channel-found', at: 0 });
      for (const step of steps) {
        now += step.gapMs;
        // The session's timer: every deadline that came due before `now` fires first, as a tick.
        for (let due = nextDeadline(p, s); due !== undefined && due <= now; due = nextDeadline(p, s)) apply({ type: 'tick', at: due });
        apply(eventOf(step, now));
        if (s.initDeadline !== undefined && s.link.kind !== 'no-channel') expect(nextDeadline(p, s)).toBeLessThanOrEqual(s.initDeadline);
      }
      // Run the timer past the deadline.
      for (let due = nextDeadline(p, s); due !== undefined && due <= DEADLINE_MS + 200_000; due = nextDeadline(p, s)) {
        apply({ type: 'tick', at: due });
        if (losses.length > 0 && due > DEADLINE_MS + 150_000) break;
      }
      expect(losses).toEqual([{ kind: 'loss', correctiveAction: action }]);
      // The restore was at 0 and the channel never went away: the loss comes at the deadline itself.
      expect(lossAt).toEqual([DEADLINE_MS]);
      expect(s.lost).toBe(action);
    }), { numRuns: 300 });
  });
});
