/**
 * Liveness of the outbox driver (flakes A and B of 2026-12-05), fast-check over random sequences of pushes,
 * receiver answers (failure, full or partial acknowledgement, a send that never settles), retryNow and time,
 * on a clock with Node's timing under load (timers early, time moving between readings): once the receiver
 * answers, the queue always drains. The driver that read the clock twice per pass left it waiting for a push.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Outbox } from '../src/outbox.js';
import { PRIORITIES, type QueuedEntry, type SettleResult } from '../src/outbox-queue.js';
import { NodeLikeClock } from './helpers/node-like-clock.js';

type Op =
  | { readonly op: 'push'; readonly lane: number; readonly priority: number; readonly coalesce: boolean }
  | { readonly op: 'answer'; readonly which: number; readonly mode: 'fail' | 'ack-all' | 'ack-some' | 'hang'; readonly mask: number }
  | { readonly op: 'time'; readonly ms: number }
  | { readonly op: 'retry-now' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), lane: fc.nat(4), priority: fc.nat(3), coalesce: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('answer' as const), which: fc.nat(), mode: fc.constantFrom('fail' as const, 'ack-all' as const, 'ack-some' as const, 'hang' as const), mask: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('time' as const), ms: fc.oneof(fc.integer({ min: 0, max: 1_200 }), fc.integer({ min: 0, max: 2_000 }).map((us) => us / 1_000)) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'retry-now' as const }) },
);

interface Call {
  readonly ids: string[];
  resolve(answer: SettleResult): void;
  reject(err: Error): void;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Outbox driver liveness', () => {
  it('drains once the receiver answers, whatever came before (early timers, time moving between readings)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // How early a timer fires: often within a few readings' steps (the stall's window), else up to 1.5 ms.
        // (Integers scaled: fast-check's doubles crowd at the bounds.)
        fc.integer({ min: 1, max: 50 }), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 300, max: 150_000 })),
        fc.array(opArb, { maxLength: 40 }),
        async (readStepUs, earlyHundredthsOfStep, ops) => {
          const readStepMs = readStepUs / 1_000;
          const clock = new NodeLikeClock(readStepMs, Math.min(1.5, (readStepMs * earlyHundredthsOfStep) / 100));
          const calls: Call[] = [];
          let healthy = false;
          const o = new Outbox<number>({
            clock, random: () => 0.5, options: { maxEntries: 6, maxBatchEntries: 3, concurrency: 2, sendTimeoutMs: 2_000, backoff: { baseMs: 100, maxMs: 1_000 } },
            send: (entries: readonly QueuedEntry<number>[]) => healthy
              ? Promise.resolve({ acked: entries.map((e) => e.id) })
              : new Promise<SettleResult>((resolve, reject) => calls.push({ ids: entries.map((e) => e.id), resolve, reject })),
          });
          o.start();
          let id = 0;
          for (const op of ops) {
            switch (op.op) {
              case 'push':
                o.push({ id: `e${++id}`, lane: `l${op.lane}`, priority: PRIORITIES[op.priority] ?? 'service', payload: id, ...(op.coalesce ? { coalesceKey: `k${op.lane}` } : {}) });
                break;
              case 'answer': {
                const call = calls.splice(calls.length === 0 ? 0 : op.which % calls.length, 1)[0];
                if (call === undefined || op.mode === 'hang') break;
                if (op.mode === 'fail') call.reject(new Error('ECONNREFUSED'));
                else call.resolve({ acked: op.mode === 'ack-all' ? call.ids : call.ids.filter((_, i) => ((op.mask >> i) & 1) === 1) });
                break;
              }
              case 'time':
                clock.runUntil(clock.time + op.ms);
                break;
              case 'retry-now':
                o.retryNow();
                break;
            }
            await tick();
          }
          // The sends still waiting fail (the receiver was down until now: the queue backs off and only its
          // retry timer can resume it); then the receiver is back and answers at once.
          for (const call of calls.splice(0)) call.reject(new Error('ECONNREFUSED'));
          await tick();
          healthy = true;
          for (let step = 0; step < 80 && o.depth > 0; step++) {
            clock.runUntil(clock.time + 100);
            await tick();
          }
          expect(o.depth).toBe(0);
          // Sends left hanging ('hang') end at their deadline (close waits for them).
          clock.runUntil(clock.time + 3_100);
          await tick();
          expect(o.stats().oldestInFlightAgeMs).toBe(0);
          await o.close();
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);
});
