/** Property tests of the queue rules over random operation sequences (fast-check; the seed is printed on failure). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OutboxQueue, PRIORITIES, isEvictable, type QueuedEntry } from '../src/outbox-queue.js';

type Op =
  | { readonly op: 'push'; readonly lane: number; readonly priority: number; readonly coalesce: boolean }
  | { readonly op: 'select'; readonly max: number }
  | { readonly op: 'settle'; readonly which: number; readonly mode: 'fail' | 'ack-all' | 'ack-some' | 'reject-some'; readonly mask: number }
  | { readonly op: 'remove-lane'; readonly lane: number }
  | { readonly op: 'reset' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), lane: fc.nat(5), priority: fc.nat(3), coalesce: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('select' as const), max: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('settle' as const), which: fc.nat(), mode: fc.constantFrom('fail' as const, 'ack-all' as const, 'ack-some' as const, 'reject-some' as const), mask: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove-lane' as const), lane: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
);

describe('OutboxQueue properties', () => {
  it('never loses an alarm or vote result, keeps lane order, one entry per coalescing key, and the bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(opArb, { maxLength: 200 }), (maxEntries, ops) => {
        const q = new OutboxQueue<number>(maxEntries);
        const batches: QueuedEntry<number>[][] = [];
        const pushedOrder = new Map<string, number[]>();   // lane → seqs pushed
        const deliveredOrder = new Map<string, number[]>(); // lane → seqs acked
        const mustArrive = new Set<string>();               // alarms/vote results not acked, rejected or removed
        let now = 0;
        let id = 0;
        for (const o of ops) {
          now += 10;
          switch (o.op) {
            case 'push': {
              const priority = PRIORITIES[o.priority] ?? 'service';
              const lane = `l${o.lane}`;
              const entryId = `e${++id}`;
              const out = q.push({ id: entryId, lane, priority, payload: id, ...(o.coalesce ? { coalesceKey: `k${o.lane}-${priority}` } : {}) }, now);
              if (!isEvictable(priority)) expect(out.result).toBe('queued');
              if (out.result === 'queued') {
                pushedOrder.set(lane, [...(pushedOrder.get(lane) ?? []), q.get(entryId)?.seq ?? -1]);
                if (!isEvictable(priority)) mustArrive.add(entryId);
                // A replaced alarm is superseded by the newer one with its key (same class: the caller's choice).
                if (out.replaced !== undefined && mustArrive.delete(out.replaced.id)) expect(mustArrive.has(entryId)).toBe(true);
                // Only evictable entries are ever evicted.
                if (out.evicted !== undefined) expect(isEvictable(out.evicted.priority)).toBe(true);
              }
              break;
            }
            case 'select': {
              const batch = q.selectBatch(now, o.max);
              expect(batch.length).toBeLessThanOrEqual(o.max);
              // No lane is in two batches at once.
              const inFlightLanes = new Set(batches.flat().map((e) => e.lane));
              for (const e of batch) expect(inFlightLanes.has(e.lane)).toBe(false);
              if (batch.length > 0) batches.push(batch);
              break;
            }
            case 'settle': {
              if (batches.length === 0) break;
              const [batch] = batches.splice(o.which % batches.length, 1);
              if (batch === undefined) break;
              const chosen = batch.filter((_, i) => (o.mask >> i) % 2 === 1).map((e) => e.id);
              // A receiver handles a lane's entries in order and stops at its first failure, so what it
              // acknowledges is a prefix of each lane (the agent and the VIM client both do).
              const failedLanes = new Set<string>();
              const ackedPrefix = batch.filter((e, i) => {
                if (failedLanes.has(e.lane)) return false;
                if ((o.mask >> i) % 2 === 1) return true;
                failedLanes.add(e.lane);
                return false;
              }).map((e) => e.id);
              const answer = o.mode === 'fail' ? undefined
                : o.mode === 'ack-all' ? { acked: batch.map((e) => e.id) }
                  : o.mode === 'ack-some' ? { acked: ackedPrefix } : { acked: [], rejected: chosen };
              const out = q.settle(batch, answer, now, (attempt) => attempt * 7);
              for (const e of out.acked) deliveredOrder.set(e.lane, [...(deliveredOrder.get(e.lane) ?? []), e.seq]);
              for (const e of [...out.acked, ...out.rejected]) mustArrive.delete(e.id);
              // A failed entry a newer one with its key replaced while it was in flight goes (the rule);
              // the newer fact must be there to carry it.
              for (const e of out.superseded) {
                const newer = q.entries().find((w) => w.coalesceKey === e.coalesceKey);
                expect(newer, `superseded ${e.id} has no successor`).toBeDefined();
                if (mustArrive.delete(e.id) && newer !== undefined && !isEvictable(newer.priority)) expect(mustArrive.has(newer.id)).toBe(true);
              }
              break;
            }
            case 'remove-lane':
              for (const e of q.removeLane(`l${o.lane}`)) mustArrive.delete(e.id);
              break;
            case 'reset':
              q.resetBackoff();
              break;
          }
          const live = new Set(q.entries().map((e) => e.id));
          const inFlight = new Set(batches.flat().map((e) => e.id));
          // Cancelled in-flight entries still count as live until their batch settles.
          for (const idMust of mustArrive) if (!live.has(idMust)) expect.fail(`alarm ${idMust} vanished`);
          const waiting = q.entries().filter((e) => !inFlight.has(e.id));
          const keys = waiting.filter((e) => e.coalesceKey !== undefined).map((e) => e.coalesceKey);
          expect(new Set(keys).size).toBe(keys.length);
          // The bound holds for what may be dropped; alarms and vote results may go past it.
          expect(q.entries().filter((e) => isEvictable(e.priority)).length).toBeLessThanOrEqual(maxEntries);
        }
        for (const [lane, delivered] of deliveredOrder) {
          expect([...delivered].sort((a, b) => a - b)).toEqual(delivered);
          const pushed = new Set(pushedOrder.get(lane));
          for (const s of delivered) expect(pushed.has(s)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('drains completely once the receiver acknowledges everything', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ lane: fc.nat(20), priority: fc.nat(3), coalesce: fc.boolean() }), { maxLength: 300 }), (items) => {
        const q = new OutboxQueue<number>(50);
        items.forEach((it, i) => q.push({ id: `e${i}`, lane: `l${it.lane}`, priority: PRIORITIES[it.priority] ?? 'alarm', payload: i, ...(it.coalesce ? { coalesceKey: `k${it.lane}` } : {}) }, 0));
        for (let round = 0; round < 1000 && q.size > 0; round++) {
          const batch = q.selectBatch(0, 7);
          q.settle(batch, { acked: batch.map((e) => e.id) }, 0, () => 0);
        }
        expect(q.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
