/**
 * Fuzzing of guest-client's message handling, the guest side of the channel: hostile host byte streams
 * go through HostMessageReader into the client reducer (stepClient), interleaved with time (timers fire
 * as the session's would), channel up/down, start/shutdown, health results, vote results, and the in-guest
 * applications (client §8: their health reports and how many vote) changing. What must hold:
 *  - nothing throws;
 *  - everything the client sends encodes within 1056 bytes and decodes on the host side (WireDecoder);
 *  - effects per step and the model stay bounded;
 *  - whatever happened before, channel down/up → an init goes out; its ack → enabled; a challenge behind
 *    a broken line → answered with the same value (valid messages after garbage are still handled).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, GUEST_TO_HOST_TYPES, NOTIFICATION_TYPES, WireDecoder, encodeMessage, type WireBody, type WireMessage,
} from '@guesthb/protocol';
import {
  DEFAULT_CLIENT_CONFIG, HostMessageReader, initialClientModel, stepClient,
  type AppsSnapshot, type ClientEvent, type ClientModel, type ClientPolicy, type TimerName,
} from '@guesthb/guest-client';
import { garbageArb, hostBodyArb } from './helpers/streams.js';

const SEED = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const RUNS = 6_000;
const INT31 = 2_147_483_647;
/** Messages sent over the whole run, by type: proof that the fuzz reaches the interesting paths. */
const SENT = new Map<string, number>();
/** Actions forwarded to in-guest applications over the whole run (client §8 paths reached). */
const APP_NOTICES = { count: 0 };

type Op =
  | { readonly op: 'bytes'; readonly bytes: Uint8Array }
  | { readonly op: 'ack' }
  | { readonly op: 'challenge'; readonly value: number }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'event'; readonly type: 'start' | 'channel-up' | 'channel-down' | 'shutdown' }
  | { readonly op: 'health'; readonly healthy: boolean }
  | { readonly op: 'vote'; readonly result: 'accept' | 'reject' | 'complete' | 'error' }
  /** The registered in-guest applications change (client §8): how many vote, and their health reports. */
  | { readonly op: 'apps'; readonly apps: AppsSnapshot };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: garbageArb.map((bytes): Op => ({ op: 'bytes', bytes })) },
  { weight: 3, arbitrary: hostBodyArb.map((body): Op => ({ op: 'bytes', bytes: encodeMessage(body) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...EVENT_TYPES), fc.constantFrom(...NOTIFICATION_TYPES), fc.integer({ min: 0, max: 20_000 }))
      .map(([id, event, notification, timeoutMs]): Op => ({ op: 'bytes', bytes: encodeMessage({
        msg_type: 'action_notify', sequence: 1, invocation_id: id, event_type: event, notification_type: notification, timeout_ms: timeoutMs,
      }) })),
  },
  { weight: 3, arbitrary: fc.constant<Op>({ op: 'ack' }) },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: INT31 }).map((value): Op => ({ op: 'challenge', value })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 12_000 }).map((ms): Op => ({ op: 'advance', ms })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('start', 'channel-up', 'channel-down', 'shutdown' as const).map((type): Op => ({ op: 'event', type })),
  },
  { weight: 1, arbitrary: fc.boolean().map((healthy): Op => ({ op: 'health', healthy })) },
  { weight: 1, arbitrary: fc.constantFrom('accept', 'reject', 'complete', 'error' as const).map((result): Op => ({ op: 'vote', result })) },
  {
    weight: 1,
    arbitrary: fc.record({
      voters: fc.integer({ min: 0, max: 16 }),
      health: fc.array(fc.record({
        health: fc.constantFrom('healthy' as const, 'unhealthy' as const),
        action: fc.constantFrom(...CORRECTIVE_ACTIONS),
        log: fc.string({ maxLength: 300 }),
      }), { maxLength: 16 }),
    }).map((apps): Op => ({ op: 'apps', apps })),
  },
);

/** Drives the reducer as the client session does: one timer per name, effects performed in order. */
class Harness {
  model: ClientModel = initialClientModel();
  now = 0;
  readonly sent: WireMessage[] = [];
  readonly #policy: ClientPolicy;
  readonly #timers = new Map<TimerName, number>();
  readonly #reader = new HostMessageReader();
  readonly #hostSide = new WireDecoder(GUEST_TO_HOST_TYPES);
  #pendingVote: number | undefined;
  /** Parties (script, apps) still to answer the pending action. */
  #pendingParties = 0;
  #apps: AppsSnapshot = { voters: 0, health: [] };

  constructor(hasHealthCheck: boolean, hasEventHandler: boolean) {
    let id = 1_804_289_383;
    this.#policy = {
      name: 'fuzz-vm',
      config: { ...DEFAULT_CLIENT_CONFIG, healthCheckIntervalSecs: hasHealthCheck ? 2 : 0 },
      hasHealthCheck, hasEventHandler,
      nextInvocationId: () => (id = (id * 48_271) % INT31),
    };
  }

  step(event: ClientEvent): void {
    const [model, effects] = stepClient(this.#policy, this.model, event);
    this.model = model;
    if (effects.length > 32) throw new Error(`${effects.length} effects in one step`);
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const results = this.#hostSide.push(encodeMessage(effect.message)); // throws if over 1056 bytes
          if (results.length !== 1 || !results[0]?.ok) throw new Error(`the host cannot decode ${JSON.stringify(effect.message)}`);
          this.sent.push(effect.message);
          SENT.set(effect.message.msg_type, (SENT.get(effect.message.msg_type) ?? 0) + 1);
          break;
        }
        case 'set-timer':
          if (!Number.isFinite(effect.delayMs) || effect.delayMs < 0) throw new Error(`timer ${effect.timer} set to ${effect.delayMs} ms`);
          this.#timers.set(effect.timer, this.now + effect.delayMs);
          break;
        case 'clear-timer':
          this.#timers.delete(effect.timer);
          break;
        case 'run-event-handler':
          this.#pendingVote = effect.invocationId;
          this.#pendingParties += 1;
          break;
        case 'notify-apps':
          APP_NOTICES.count += 1;
          this.#pendingVote = effect.invocationId;
          this.#pendingParties += this.#apps.voters;
          break;
        case 'stop-event-handler':
        case 'stop-app-votes':
          this.#pendingVote = undefined;
          this.#pendingParties = 0;
          break;
        case 'run-health-check':
        case 'stop-health-check':
        case 'state-changed':
        case 'log':
          break;
      }
    }
    if (JSON.stringify(this.model).length > 4_096) throw new Error('model grew unbounded');
  }

  apply(op: Op): void {
    switch (op.op) {
      case 'bytes':
        for (const result of this.#reader.push(op.bytes)) {
          if (result.ok) this.step({ type: 'message', at: this.now, message: result.message, apps: this.#apps });
        }
        return;
      case 'ack': {
        const init = this.sent.findLast((m) => m.msg_type === 'init');
        this.apply({ op: 'bytes', bytes: encodeMessage({ msg_type: 'init_ack', sequence: 1, invocation_id: init?.msg_type === 'init' ? init.invocation_id : 0 }) });
        return;
      }
      case 'challenge':
        this.apply({ op: 'bytes', bytes: encodeMessage({ msg_type: 'challenge', sequence: 1, heartbeat_challenge: op.value }) });
        return;
      case 'advance':
        this.advance(op.ms);
        return;
      case 'event':
        if (op.type === 'channel-down') this.#reader.reset();
        this.step({ type: op.type, at: this.now });
        return;
      case 'health':
        this.step({ type: 'health-result', at: this.now, health: op.healthy ? 'healthy' : 'unhealthy', log: 'fuzz' });
        return;
      case 'vote': {
        const invocationId = this.#pendingVote;
        if (invocationId === undefined || this.#pendingParties === 0) return;
        this.#pendingParties -= 1;
        if (this.#pendingParties === 0) this.#pendingVote = undefined;
        this.step({ type: 'vote-result', at: this.now, invocationId, result: op.result, log: 'fuzz' } as ClientEvent);
        return;
      }
      case 'apps':
        this.#apps = op.apps;
        return;
    }
  }

  /** Moves time on, firing due timers in deadline order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const due = [...this.#timers].filter(([, at]) => at <= target).sort((a, b) => a[1] - b[1])[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.now = Math.max(this.now, due[1]);
      this.step({ type: 'timer', at: this.now, timer: due[0] });
    }
    this.now = target;
  }
}

describe('fuzz: guest-client message handling (HostMessageReader → stepClient)', () => {
  it(`survives hostile hosts and recovers on the next channel-up (${RUNS} sequences)`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: INT31 }),
        (ops, hasHealthCheck, hasEventHandler, challenge) => {
          const h = new Harness(hasHealthCheck, hasEventHandler);
          h.step({ type: 'start', at: h.now });
          h.step({ type: 'channel-up', at: h.now });
          for (const op of ops) h.apply(op);

          // Whatever came before: the channel goes down and up → init; its ack → enabled; a challenge is echoed.
          h.apply({ op: 'event', type: 'channel-down' });
          const before = h.sent.length;
          h.apply({ op: 'event', type: 'channel-up' });
          expect(h.sent.slice(before).some((m) => m.msg_type === 'init')).toBe(true);
          h.apply({ op: 'ack' });
          expect(h.model.state.kind).toBe('enabled');
          const from = h.sent.length;
          h.apply({ op: 'bytes', bytes: Buffer.concat([Buffer.from('{"msg_type":"chall'), encodeMessage({ msg_type: 'challenge', sequence: 2, heartbeat_challenge: challenge } as WireBody)]) });
          expect(h.sent.slice(from)).toMatchObject([{ msg_type: 'challenge_response', heartbeat_response: challenge }]);
        },
      ),
      SEED === undefined ? { numRuns: RUNS } : { numRuns: RUNS, seed: SEED },
    );
    console.log(`client fuzz messages sent: ${JSON.stringify(Object.fromEntries(SENT))}`);
    expect(APP_NOTICES.count, 'actions forwarded to applications').toBeGreaterThan(0);
    for (const type of ['init', 'challenge_response', 'action_response', 'exit']) {
      expect(SENT.get(type) ?? 0, `messages of type ${type}`).toBeGreaterThan(0);
    }
  });
});
