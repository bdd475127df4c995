/**
 * Generators for fuzzing the host↔guest decoder: valid guest and host messages, hostile line material
 * (random bytes, broken and mutated JSON, over-long lines, control bytes) and a seeded PRNG for long streams.
 */
import fc from 'fast-check';
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, INT32_MAX, MAX_MESSAGE_BYTES, NOTIFICATION_TYPES, VOTE_RESULTS, encodeMessage,
  type WireBody,
} from '@guesthb/protocol';

const int32 = fc.integer({ min: 0, max: INT32_MAX });
const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'grapheme', maxLength }), fc.constantFrom('', 'ok', 'a "quoted" \\ text\n'));

/** Messages a guest sends to the host (GUEST_TO_HOST_TYPES), as bodies for encodeMessage. */
export const guestBodyArb: fc.Arbitrary<WireBody> = fc.oneof(
  fc.record({
    msg_type: fc.constant('init' as const), sequence: int32, invocation_id: int32, name: text(80),
    heartbeat_interval_ms: int32, vote_secs: int32, shutdown_notice_secs: int32, suspend_notice_secs: int32,
    resume_notice_secs: int32, restart_secs: int32, corrective_action: fc.constantFrom(...CORRECTIVE_ACTIONS),
  }),
  fc.record({
    msg_type: fc.constant('challenge_response' as const), sequence: int32, heartbeat_response: int32,
    heartbeat_health: fc.constantFrom('healthy' as const, 'unhealthy' as const),
    corrective_action: fc.constantFrom(...CORRECTIVE_ACTIONS), log_msg: text(300),
  }),
  fc.record({
    msg_type: fc.constant('action_response' as const), sequence: int32, invocation_id: int32,
    event_type: fc.constantFrom(...EVENT_TYPES), notification_type: fc.constantFrom(...NOTIFICATION_TYPES),
    vote_result: fc.constantFrom(...VOTE_RESULTS), log_msg: text(300),
  }),
  fc.record({ msg_type: fc.constant('exit' as const), sequence: int32, log_msg: text(300) }),
);

/** Messages a host sends to a guest (HOST_TO_GUEST_TYPES). */
export const hostBodyArb: fc.Arbitrary<WireBody> = fc.oneof(
  fc.record({ msg_type: fc.constant('init_ack' as const), sequence: int32, invocation_id: int32 }),
  fc.record({ msg_type: fc.constant('challenge' as const), sequence: int32, heartbeat_challenge: int32 }),
  fc.record({
    msg_type: fc.constant('action_notify' as const), sequence: int32, invocation_id: int32,
    event_type: fc.constantFrom(...EVENT_TYPES), notification_type: fc.constantFrom(...NOTIFICATION_TYPES), timeout_ms: int32,
  }),
  fc.record({ msg_type: fc.constant('nack' as const), sequence: int32, invocation_id: int32, log_msg: text(300) }),
);

/** A valid message's JSON with one key dropped, retyped or replaced: what a buggy or hostile peer sends. */
const mutatedJsonArb: fc.Arbitrary<string> = fc
  .tuple(fc.oneof(guestBodyArb, hostBodyArb), fc.nat(), fc.oneof(
    fc.constant(undefined), fc.constant(null), fc.boolean(), fc.double(), fc.integer(), fc.string({ maxLength: 40 }),
    fc.constant(2 ** 53), fc.constant(-1), fc.constant(1e308), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 2 }),
  ))
  .map(([body, pick, value]) => {
    const json = JSON.parse(encodeMessage(body).toString('utf8')) as Record<string, unknown>;
    const keys = Object.keys(json);
    const key = keys[pick % keys.length] ?? 'version';
    if (value === undefined) delete json[key];
    else json[key] = value;
    return JSON.stringify(json);
  });

/** One piece of hostile line material, as bytes. It may or may not contain newlines. */
export const garbageArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 600 }) },
  { weight: 3, arbitrary: mutatedJsonArb.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_MESSAGE_BYTES - 8, max: 6 * MAX_MESSAGE_BYTES })
      .map((n) => Buffer.alloc(n, 0x7b)), // an over-long line of '{'
  },
  { weight: 1, arbitrary: fc.constantFrom('{', '}', '"', '\\', '\r\n', '\n', '\0', '\u2028', '{"version":3,').map((s) => Buffer.from(s)) },
);

/** Cuts `bytes` at the given positions (modulo its length): every way a stream can be split into reads. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  if (bytes.length === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** mulberry32: a small seeded PRNG, so a long stream is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
