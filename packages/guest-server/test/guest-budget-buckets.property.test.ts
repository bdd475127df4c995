/**
 * GuestBudget keeps its four buckets in one Float64Array (issue 17 item 4: ~230 bytes less per guest); it must
 * answer exactly as four daemon-kit TokenBuckets would, for any sequence of reads, messages and inits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '@guesthb/daemon-kit';
import { DEFAULT_GUEST_BUDGET, GuestBudget, type GuestBudgetLimits } from '../src/guest-budget.js';

/** The budget as it was written with TokenBuckets (the reference). */
class Reference {
  readonly #l: GuestBudgetLimits;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #reads: TokenBucket;
  readonly #inits: TokenBucket;
  constructor(l: GuestBudgetLimits) {
    this.#l = l;
    this.#messages = new TokenBucket(l.messagesBurst, l.messagesPerSec);
    this.#bytes = new TokenBucket(l.bytesBurst, l.bytesPerSec);
    this.#reads = new TokenBucket(l.readsBurst, l.readsPerSec);
    this.#inits = new TokenBucket(l.initsBurst, l.initsPerMin / 60);
  }
  chargeRead(now: number, bytes: number): { pauseMs: number; kind?: string } {
    const bytesOk = this.#bytes.charge(now, bytes);
    const readsOk = bytes >= 4096 || this.#reads.charge(now, 1);
    if (bytesOk && readsOk) return { pauseMs: 0 };
    const bytesMs = this.#bytes.msUntil(now, this.#bytes.refillPerSec / 10);
    const readsMs = this.#reads.msUntil(now, this.#reads.refillPerSec / 10);
    return bytesMs >= readsMs ? { pauseMs: Math.max(1, bytesMs), kind: 'bytes' } : { pauseMs: Math.max(1, readsMs), kind: 'reads' };
  }
  takeMessage(now: number): boolean { return this.#messages.take(now); }
  messagesAvailable(now: number): number { return this.#messages.available(now); }
  messagePauseMs(now: number): number { return Math.max(1, this.#messages.msUntil(now, Math.max(1, this.#messages.refillPerSec / 10))); }
  takeInit(now: number): boolean { return this.#inits.take(now); }
  get limits(): GuestBudgetLimits { return this.#l; }
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), dt: fc.integer({ min: 0, max: 2000 }), bytes: fc.integer({ min: 1, max: 200_000 }) }),
  fc.record({ kind: fc.constantFrom('message' as const, 'available' as const, 'pause' as const, 'init' as const), dt: fc.integer({ min: 0, max: 2000 }) }),
);
const limits = fc.record({
  messagesPerSec: fc.integer({ min: 0, max: 50 }), messagesBurst: fc.integer({ min: 1, max: 60 }),
  bytesPerSec: fc.integer({ min: 0, max: 100_000 }), bytesBurst: fc.integer({ min: 1, max: 300_000 }),
  readsPerSec: fc.integer({ min: 0, max: 200 }), readsBurst: fc.integer({ min: 1, max: 300 }),
  initsPerMin: fc.integer({ min: 0, max: 12 }), initsBurst: fc.integer({ min: 1, max: 10 }),
}).map((l) => ({ ...DEFAULT_GUEST_BUDGET, ...l }));

describe('GuestBudget buckets', () => {
  it('answer as daemon-kit TokenBuckets do, for any limits and sequence', () => {
    fc.assert(fc.property(limits, fc.array(op, { maxLength: 200 }), fc.integer({ min: 0, max: 1e9 }), (l, ops, start) => {
      const budget = new GuestBudget(l);
      const ref = new Reference(l);
      let now = start;
      for (const o of ops) {
        now += o.dt;
        switch (o.kind) {
          case 'read': expect(budget.chargeRead(now, o.bytes)).toEqual(ref.chargeRead(now, o.bytes)); break;
          case 'message': expect(budget.takeMessage(now)).toBe(ref.takeMessage(now)); break;
          case 'available': expect(budget.messagesAvailable(now)).toBe(ref.messagesAvailable(now)); break;
          case 'pause': expect(budget.messagePauseMs(now)).toBe(ref.messagePauseMs(now)); break;
          case 'init': expect(budget.takeInit(now)).toBe(ref.takeInit(now)); break;
        }
      }
    }), { numRuns: 300 });
  });
});
