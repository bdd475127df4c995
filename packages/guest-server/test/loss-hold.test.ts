/**
 * [16.4] defer-starved in the pure reducer: a due loss the policy's holdLoss holds keeps the challenges going;
 * a valid answer within the hold cancels it (no STOPPED, no LOSS); past the hold the loss is reported once.
 */
import { describe, expect, it } from 'vitest';
import { stepInstance } from '../src/index.js';
import { heartbeating, policy, reports, response, run, sends } from './helpers/machine.js';

describe('[16.4] a loss held because the host starved the guest', () => {
  it('holds a due loss until the returned time; challenges continue; past it the loss is reported once', () => {
    const asked: number[] = [];
    const p = policy({ holdLoss: (at) => (asked.push(at), at + 2_000) });
    // Heartbeating; challenge 102 at 1000 unanswered (miss 1 at 2000), 103 at 2000 unanswered: loss due at 3000.
    const [s3, fx3] = run(p, heartbeating(p), [{ type: 'tick', at: 1_000 }, { type: 'tick', at: 2_000 }, { type: 'tick', at: 3_000 }]);
    expect(asked).toEqual([3_000]);
    expect(s3.lossHeldUntil).toBe(5_000);
    expect(reports(fx3)).toEqual([]);
    expect(sends(fx3).filter((m) => m === 'challenge')).toHaveLength(3);
    const [s4, fx4] = run(p, s3, [{ type: 'tick', at: 4_000 }]);
    expect(reports(fx4)).toEqual([]);
    expect(asked).toHaveLength(1);
    const [s5, fx5] = run(p, s4, [{ type: 'tick', at: 5_000 }]);
    expect(reports(fx5)).toEqual([{ kind: 'stopped', reason: 'loss' }, { kind: 'loss', correctiveAction: 'reboot' }]);
    expect(s5.lossHeldUntil).toBeUndefined();
    expect(s5.cycle.kind).toBe('waiting-init');
  });

  it('a valid answer within the hold drops the loss: no STOPPED, no LOSS, misses start again', () => {
    const p = policy({ holdLoss: (at) => at + 5_000 });
    const [held] = run(p, heartbeating(p), [{ type: 'tick', at: 1_000 }, { type: 'tick', at: 2_000 }, { type: 'tick', at: 3_000 }]);
    if (held.cycle.kind !== 'cycling') throw new Error('expected cycling');
    const [answered, fx] = stepInstance(p, held, { type: 'message', at: 3_500, message: response(held.cycle.challenge) });
    expect(answered.lossHeldUntil).toBeUndefined();
    expect(reports(fx)).toEqual([]);
    const [later, fxLater] = run(p, answered, [{ type: 'tick', at: 4_000 }, { type: 'tick', at: 5_000 }]);
    expect(reports(fxLater)).toEqual([]);
    expect(later.cycle.kind === 'cycling' && later.cycle.misses).toBe(1);
  });

  it('no holdLoss, or one answering undefined, reports the loss at once (corroborate = off or report)', () => {
    for (const p of [policy(), policy({ holdLoss: () => undefined })]) {
      const [, fx] = run(p, heartbeating(p), [{ type: 'tick', at: 1_000 }, { type: 'tick', at: 2_000 }, { type: 'tick', at: 3_000 }]);
      expect(reports(fx)).toEqual([{ kind: 'stopped', reason: 'loss' }, { kind: 'loss', correctiveAction: 'reboot' }]);
    }
  });
});
