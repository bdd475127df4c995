/** fast-check arbitraries of valid host↔guest message bodies (daemons §1.6, client §3 limits). */
import fc from 'fast-check';
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, INT32_MAX, INT32_MIN, NOTIFICATION_TYPES, VOTE_RESULTS, type WireBody,
} from '../src/index.js';

const int32 = fc.integer({ min: INT32_MIN, max: INT32_MAX });
const uint31 = fc.integer({ min: 0, max: INT32_MAX });
/** Free text with escapes, multi-byte and astral characters, so splits land inside UTF-8 sequences. */
const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.oneof(fc.constantFrom('a', ' ', '"', '\\', '\n', '\u0001', 'é', '€', '😀'), fc.string({ minLength: 1, maxLength: 1 })), maxLength });

export const wireBodyArb: fc.Arbitrary<WireBody> = fc.oneof(
  fc.record({
    msg_type: fc.constant('init' as const), sequence: int32, invocation_id: uint31, name: text(64), heartbeat_interval_ms: int32,
    vote_secs: int32, shutdown_notice_secs: int32, suspend_notice_secs: int32, resume_notice_secs: int32, restart_secs: int32,
    corrective_action: fc.constantFrom(...CORRECTIVE_ACTIONS),
  }),
  fc.record({ msg_type: fc.constant('init_ack' as const), sequence: int32, invocation_id: uint31 }),
  fc.record({ msg_type: fc.constant('challenge' as const), sequence: int32, heartbeat_challenge: uint31 }),
  fc.record({
    msg_type: fc.constant('challenge_response' as const), sequence: int32, heartbeat_response: uint31,
    heartbeat_health: fc.constantFrom('healthy' as const, 'unhealthy' as const), corrective_action: fc.constantFrom(...CORRECTIVE_ACTIONS),
    log_msg: text(300),
  }),
  fc.record({
    msg_type: fc.constant('action_notify' as const), sequence: int32, invocation_id: uint31, event_type: fc.constantFrom(...EVENT_TYPES),
    notification_type: fc.constantFrom(...NOTIFICATION_TYPES), timeout_ms: int32,
  }),
  fc.record({
    msg_type: fc.constant('action_response' as const), sequence: int32, invocation_id: uint31, event_type: fc.constantFrom(...EVENT_TYPES),
    notification_type: fc.constantFrom(...NOTIFICATION_TYPES), vote_result: fc.constantFrom(...VOTE_RESULTS), log_msg: text(300),
  }),
  fc.record({ msg_type: fc.constant('exit' as const), sequence: int32, log_msg: text(300) }),
  fc.record({ msg_type: fc.constant('nack' as const), sequence: int32, invocation_id: uint31, log_msg: text(300) }),
);

/**
 * Bytes that never form a message: no '}' (so no JSON object can close), newlines included so garbage
 * lines come whole and partial, and some runs far longer than 1056 bytes.
 */
export const garbageArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: 4000 }),
  fc.constantFrom('{"version":3,', '{"version":3,"msg_type":"init"', 'not json', '\n\n', '\r\n', '  ').map((s) => new Uint8Array(Buffer.from(s))),
  fc.integer({ min: 1057, max: 3000 }).map((n) => new Uint8Array(Buffer.alloc(n, 0x41))),
).map((bytes) => bytes.map((b) => (b === 0x7d ? 0x7b : b)));

/** Cuts `bytes` at the given positions (sorted, deduplicated) into consecutive chunks. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
