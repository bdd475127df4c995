/**
 * Fuzzing of guest-server's message handling: hostile guest byte streams go through the WireDecoder into
 * the per-instance reducer (stepInstance), interleaved with time, link changes, reporting changes and
 * votes, exactly as the session driver feeds it (a tick at each deadline). What must hold:
 *  - nothing throws;
 *  - everything the server sends to a guest encodes within 1056 bytes and decodes on the guest side;
 *  - state and effects stay bounded, deadlines stay finite;
 *  - whatever happened before, a reconnect followed by a valid init is acked with its invocation id and
 *    followed by a challenge (valid messages after garbage are still handled).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES, GUEST_TO_HOST_TYPES, HOST_TO_GUEST_TYPES, VOTE_RESULTS, WireDecoder, encodeMessage, type WireBody,
} from '@guesthb/protocol';
import {
  ILL_HEALTH_REPEAT_MS, MAX_INTERVAL_MS, VOTE_GRACE_MS, initialInstanceState, nextDeadline, stepInstance,
  type HeartbeatPolicy, type InstanceEffect, type InstanceEvent, type InstanceState,
} from '@guesthb/guest-server';
import { garbageArb, guestBodyArb } from './helpers/streams.js';

const SEED = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const RUNS = 8_000;
/** Reports seen over the whole run: proof that the fuzz reaches the interesting paths, not just refusals. */
const REPORTS = new Map<string, number>();

type Op =
  | { readonly op: 'bytes'; readonly bytes: Uint8Array }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'link'; readonly event: 'channel-found' | 'connected' | 'disconnected' | 'connect-failed' | 'channel-removed' }
  | { readonly op: 'reporting'; readonly reporting: boolean }
  | { readonly op: 'answer'; readonly healthy: boolean; readonly vote: (typeof VOTE_RESULTS)[number] }
  | { readonly op: 'action'; readonly event: (typeof EVENT_TYPES)[number]; readonly notificationType: 'revocable' | 'irrevocable' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: garbageArb.map((bytes): Op => ({ op: 'bytes', bytes })) },
  { weight: 4, arbitrary: guestBodyArb.map((body): Op => ({ op: 'bytes', bytes: encodeMessage(body) })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 8_000 }).map((ms): Op => ({ op: 'advance', ms })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('channel-found', 'connected', 'disconnected', 'connect-failed', 'channel-removed' as const)
      .map((event): Op => ({ op: 'link', event })),
  },
  { weight: 1, arbitrary: fc.boolean().map((reporting): Op => ({ op: 'reporting', reporting })) },
  {
    weight: 2, // a well-behaved (re-)init with a usable interval, so heartbeating, misses and losses happen
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 2_147_483_647 }), fc.integer({ min: 100, max: 3_000 }))
      .map(([id, intervalMs]): Op => ({ op: 'bytes', bytes: initBytes(id, intervalMs) })),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.boolean(), fc.constantFrom(...VOTE_RESULTS))
      .map(([healthy, vote]): Op => ({ op: 'answer', healthy, vote })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...EVENT_TYPES), fc.constantFrom('revocable' as const, 'irrevocable' as const))
      .map(([event, notificationType]): Op => ({ op: 'action', event, notificationType })),
  },
);

function initBytes(invocationId: number, intervalMs: number): Buffer {
  return encodeMessage({
    msg_type: 'init', sequence: 1, invocation_id: invocationId, name: 'vm', heartbeat_interval_ms: intervalMs,
    vote_secs: 9, shutdown_notice_secs: 9, suspend_notice_secs: 9, resume_notice_secs: 9, restart_secs: 61,
    corrective_action: 'reboot',
  });
}

/** Drives the reducer as the session does and checks every step's invariants. */
class Harness {
  state: InstanceState;
  now = 1_000;
  readonly sent: WireBody[] = [];
  readonly #policy: HeartbeatPolicy;
  #decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
  readonly #guestSide = new WireDecoder(HOST_TO_GUEST_TYPES);

  constructor(hostReporting: boolean, reporting: boolean) {
    let challenge = 12_345;
    this.#policy = {
      failureThreshold: 1, pulsePeriodMs: 400, maxIntervalMs: MAX_INTERVAL_MS, hostReporting, reconnectIdleMs: 120_000,
      voteGraceMs: VOTE_GRACE_MS, illHealthRepeatMs: ILL_HEALTH_REPEAT_MS,
      nextChallenge: () => (challenge = (challenge * 48_271) % 2_147_483_647),
    };
    this.state = initialInstanceState(this.now, reporting);
  }

  step(event: InstanceEvent): readonly InstanceEffect[] {
    const [next, effects] = stepInstance(this.#policy, this.state, event);
    this.state = next;
    for (const effect of effects) if (effect.type === 'report') REPORTS.set(effect.report.kind, (REPORTS.get(effect.report.kind) ?? 0) + 1);
    if (effects.length > 32) throw new Error(`${effects.length} effects in one step`);
    for (const effect of effects) {
      const body: WireBody | undefined = effect.type === 'send' ? effect.body
        : effect.type === 'challenge' ? { msg_type: 'challenge', sequence: effect.sequence, heartbeat_challenge: effect.challenge } : undefined;
      if (body === undefined) continue;
      const results = this.#guestSide.push(encodeMessage(body)); // throws if over 1056 bytes
      if (results.length !== 1 || !results[0]?.ok) throw new Error(`the guest cannot decode ${JSON.stringify(body)}`);
      this.sent.push(body);
    }
    const deadline = nextDeadline(this.#policy, this.state);
    if (deadline !== undefined && !Number.isFinite(deadline)) throw new Error(`deadline ${deadline}`);
    if (JSON.stringify(this.state).length > 4_096) throw new Error('state grew unbounded');
    if (event.type === 'connected' || event.type === 'disconnected') this.#decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
    return effects;
  }

  apply(op: Op): void {
    switch (op.op) {
      case 'bytes':
        for (const result of this.#decoder.push(op.bytes)) {
          this.step(result.ok
            ? { type: 'message', at: this.now, message: result.message }
            : { type: 'bad-message', at: this.now, reason: result.reason, nack: result.nack });
        }
        return;
      case 'advance':
        this.advance(op.ms);
        return;
      case 'link':
        this.step(op.event === 'disconnected' ? { type: op.event, at: this.now, cause: 'EOF' }
          : op.event === 'connect-failed' ? { type: op.event, at: this.now, error: 'ECONNREFUSED' }
            : { type: op.event, at: this.now });
        return;
      case 'answer':
        this.apply({ op: 'bytes', bytes: this.#answer(op.healthy, op.vote) });
        return;
      case 'reporting':
        this.step({ type: 'set-reporting', at: this.now, reporting: op.reporting });
        return;
      case 'action':
        this.step({ type: 'action', at: this.now, event: op.event, notificationType: op.notificationType });
        return;
    }
  }

  /** What a live guest would answer to the last challenge or action_notify the server sent. */
  #answer(healthy: boolean, vote: (typeof VOTE_RESULTS)[number]): Buffer {
    const last = this.sent.at(-1);
    if (last?.msg_type === 'action_notify') {
      return encodeMessage({
        msg_type: 'action_response', sequence: 7, invocation_id: last.invocation_id, event_type: last.event_type,
        notification_type: last.notification_type, vote_result: vote, log_msg: 'fuzz',
      });
    }
    const challenge = this.sent.findLast((b) => b.msg_type === 'challenge');
    return encodeMessage({
      msg_type: 'challenge_response', sequence: 7,
      heartbeat_response: challenge?.msg_type === 'challenge' ? challenge.heartbeat_challenge : 0,
      heartbeat_health: healthy ? 'healthy' : 'unhealthy', corrective_action: 'reboot', log_msg: 'fuzz',
    });
  }

  /** Moves time on, with a tick at every deadline on the way, as the session's one timer does. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const deadline = nextDeadline(this.#policy, this.state);
      if (deadline === undefined || deadline > target) break;
      this.now = Math.max(this.now, deadline);
      this.step({ type: 'tick', at: this.now });
    }
    this.now = target;
  }
}

describe('fuzz: guest-server message handling (decoder → stepInstance)', () => {
  it(`survives hostile guests and still acks the next valid init (${RUNS} sequences)`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2_147_483_647 }),
        (ops, hostReporting, reporting, invocationId) => {
          const h = new Harness(hostReporting, reporting);
          h.step({ type: 'channel-found', at: h.now });
          h.step({ type: 'connected', at: h.now });
          for (const op of ops) h.apply(op);

          // Whatever came before: a fresh connection and a valid init → init_ack(id) and a challenge.
          h.step({ type: 'channel-found', at: h.now });
          h.step({ type: 'connected', at: h.now });
          const before = h.sent.length;
          h.apply({ op: 'bytes', bytes: Buffer.concat([Buffer.from('{"broken'), initBytes(invocationId, 1000)]) });
          const sent = h.sent.slice(before);
          expect(sent.find((b) => b.msg_type === 'init_ack')).toMatchObject({ invocation_id: invocationId });
          expect(sent.some((b) => b.msg_type === 'challenge')).toBe(true);
        },
      ),
      SEED === undefined ? { numRuns: RUNS } : { numRuns: RUNS, seed: SEED },
    );
    console.log(`server fuzz reports: ${JSON.stringify(Object.fromEntries(REPORTS))}`);
    for (const kind of ['running', 'stopped', 'loss', 'ill-health', 'vote-result']) {
      expect(REPORTS.get(kind) ?? 0, `reports of kind ${kind}`).toBeGreaterThan(0);
    }
  });
});
