/**
 * The hand-written readers of challenge and challenge_response must agree with the zod schemas on every
 * input: the same verdict and, when accepted, the same value with the same key order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChallengeResponseSchema, ChallengeSchema, CORRECTIVE_ACTIONS, encodeMessage, readChallenge, readChallengeResponse,
} from '../src/index.js';

/** Values that sit on every edge the schemas check: integrality, int32 clamping, the 32-character token limit. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 2_147_483_647, 2_147_483_648, -2_147_483_649, 3_000_000_000, 2 ** 53 + 2, 1.5, -0, 1e300),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('healthy', 'unhealthy', 'Healthy', '', ...CORRECTIVE_ACTIONS, 'reboot ', 'x'.repeat(32), 'x'.repeat(33)),
  fc.string({ maxLength: 300 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);

const RESPONSE_KEYS = ['version', 'revision', 'msg_type', 'sequence', 'heartbeat_response', 'heartbeat_health', 'corrective_action', 'log_msg'] as const;
const CHALLENGE_KEYS = ['version', 'revision', 'msg_type', 'sequence', 'heartbeat_challenge'] as const;

/** A near-valid object: each key present with a valid value, an edge value, or missing; extra keys sometimes. */
function nearValid(keys: readonly string[], valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const entry = (key: string): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 6, arbitrary: fc.constant(valid[key]) }, { weight: 3, arbitrary: fieldValue }, { weight: 1, arbitrary: fc.constant(undefined) });
  return fc.tuple(fc.tuple(...keys.map(entry)), fc.dictionary(fc.constantFrom('extra', 'seq', '__proto__', 'hello'), fieldValue, { maxKeys: 2 }))
    .map(([values, extra]) => {
      const obj: Record<string, unknown> = JSON.parse(JSON.stringify(extra)) as Record<string, unknown>;
      keys.forEach((key, i) => { if (values[i] !== undefined) obj[key] = values[i]; });
      return obj;
    });
}

function agree(fast: unknown, zod: { success: boolean; data?: unknown }): void {
  if (zod.success) {
    expect(fast).toStrictEqual(zod.data);
    expect(Object.keys(fast as object)).toEqual(Object.keys(zod.data as object));
  } else {
    expect(fast).toBeUndefined();
  }
}

describe('hot-path readers agree with the zod schemas', () => {
  it('readChallengeResponse ≡ ChallengeResponseSchema on near-valid and hostile objects', () => {
    const valid = { version: 3, revision: 1, msg_type: 'challenge_response', sequence: 7, heartbeat_response: 12345, heartbeat_health: 'healthy', corrective_action: 'reboot', log_msg: 'ok' };
    fc.assert(fc.property(nearValid(RESPONSE_KEYS, valid), (obj) => {
      agree(readChallengeResponse(obj), ChallengeResponseSchema.safeParse(obj));
    }), { numRuns: 5_000 });
  });

  it('readChallenge ≡ ChallengeSchema on near-valid and hostile objects', () => {
    const valid = { version: 3, revision: 1, msg_type: 'challenge', sequence: 7, heartbeat_challenge: 12345 };
    fc.assert(fc.property(nearValid(CHALLENGE_KEYS, valid), (obj) => {
      agree(readChallenge(obj), ChallengeSchema.safeParse(obj));
    }), { numRuns: 3_000 });
  });

  it('accepts what the encoder writes and cuts log_msg, clamps integers and maps vocabulary like the schema', () => {
    const line = encodeMessage({ msg_type: 'challenge_response', sequence: 1, heartbeat_response: 5, heartbeat_health: 'unhealthy', corrective_action: 'stop', log_msg: 'disk full' });
    const obj = JSON.parse(line.toString()) as Record<string, unknown>;
    expect(readChallengeResponse(obj)).toEqual({ version: 3, revision: 1, msg_type: 'challenge_response', sequence: 1, heartbeat_response: 5, heartbeat_health: 'unhealthy', corrective_action: 'stop', log_msg: 'disk full' });
    const odd = { ...obj, version: 4, sequence: 3_000_000_000, heartbeat_health: 'sick', corrective_action: 'explode', log_msg: 'y'.repeat(500) };
    expect(readChallengeResponse(odd)).toMatchObject({ version: 4, sequence: 2_147_483_647, heartbeat_health: 'unhealthy', corrective_action: 'unknown', log_msg: 'y'.repeat(224) });
    expect(readChallengeResponse({ ...obj, heartbeat_response: '5' })).toBeUndefined();
    expect(readChallengeResponse({ ...obj, msg_type: 'challenge' })).toBeUndefined();
    expect(readChallenge({ version: 3, revision: 1, msg_type: 'challenge', sequence: 2, heartbeat_challenge: 1.5 })).toBeUndefined();
  });
});
