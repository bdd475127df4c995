/** The validation pipeline and nack rules (daemons §1.5): which failure gets which text. */
import { describe, expect, it } from 'vitest';
import {
  GUEST_TO_HOST_TYPES, HOST_TO_GUEST_TYPES, nackBadVersion, nackFailedToParse, nackInvocationMismatch,
  nackUnsupportedType, parseMessage, type ParseResult,
} from '../src/index.js';

const HOST = GUEST_TO_HOST_TYPES;
const INIT = {
  version: 3, revision: 1, msg_type: 'init', sequence: 1, invocation_id: 1804289383, name: 'test-vm',
  heartbeat_interval_ms: 1000, vote_secs: 9, shutdown_notice_secs: 9, suspend_notice_secs: 9, resume_notice_secs: 14,
  restart_secs: 601, corrective_action: 'reboot',
};

function failure(result: ParseResult): { code: string; nack: string | undefined } {
  if (result.ok) throw new Error('expected a failure');
  expect(result.reason.length).toBeGreaterThan(0);
  return { code: result.code, nack: result.nack };
}

describe('nack texts, word for word (daemons §1.5)', () => {
  it('[NACK-1..6] writes the four texts of the original', () => {
    expect(nackFailedToParse('sequence')).toBe('failed to parse sequence');
    expect(nackBadVersion(2)).toBe('Bad version: 2, expect version: 3');
    expect(nackUnsupportedType('nack')).toBe('unsupported message type: nack');
    expect(nackInvocationMismatch(5, 7)).toBe('Invocation id mismatch. Received: 5 expect: 7');
  });
});

describe('parseMessage on a host (accepting guest → host types)', () => {
  it('accepts a valid init', () => {
    const result = parseMessage(JSON.stringify(INIT), HOST);
    expect(result).toEqual({ ok: true, message: INIT });
  });

  it('accepts spaces inside the JSON (client §3)', () => {
    expect(parseMessage(JSON.stringify(INIT, null, 1).replace(/\n/g, ' '), HOST).ok).toBe(true);
  });

  it('[WIRE-4] discards garbage silently: no nack (daemons §1.4)', () => {
    expect(failure(parseMessage('{"version":3,', HOST))).toEqual({ code: 'PROTO_ERR_BAD_JSON', nack: undefined });
    expect(failure(parseMessage('hello', HOST))).toEqual({ code: 'PROTO_ERR_BAD_JSON', nack: undefined });
  });

  it.each([['"a bare string"'], ['42'], ['null'], ['[1,2]'], ['true']])(
    '[NACK-1] nacks a top-level non-object %s with "failed to parse version" (daemons §1.4)',
    (line) => {
      expect(failure(parseMessage(line, HOST))).toEqual({ code: 'PROTO_ERR_BAD_FIELD', nack: 'failed to parse version' });
    },
  );

  it.each([[undefined], ['3'], [true], [3.5], [null]])('[NACK-1] nacks version %j with "failed to parse version" (stage A 1)', (version) => {
    const result = parseMessage(JSON.stringify({ ...INIT, version }), HOST);
    expect(failure(result)).toEqual({ code: 'PROTO_ERR_BAD_FIELD', nack: 'failed to parse version' });
  });

  it.each([[2, 'Bad version: 2, expect version: 3'], [0, 'Bad version: 0, expect version: 3'], [-1e12, 'Bad version: -2147483648, expect version: 3']])(
    '[NACK-2] nacks version %d with "%s" (stage A 2)',
    (version, text) => {
      expect(failure(parseMessage(JSON.stringify({ ...INIT, version }), HOST))).toEqual({ code: 'PROTO_ERR_BAD_VERSION', nack: text });
    },
  );

  it('[NACK-2] accepts versions above 3 (daemons §1.5)', () => {
    expect(parseMessage(JSON.stringify({ ...INIT, version: 4 }), HOST).ok).toBe(true);
  });

  it.each([[undefined], [7], [null]])('[NACK-3] nacks msg_type %j with "failed to parse msg_type" (stage A 3)', (msgType) => {
    expect(failure(parseMessage(JSON.stringify({ ...INIT, msg_type: msgType }), HOST))).toEqual({
      code: 'PROTO_ERR_BAD_FIELD', nack: 'failed to parse msg_type',
    });
  });

  it('checks version before msg_type', () => {
    expect(failure(parseMessage('{"msg_type":5}', HOST)).nack).toBe('failed to parse version');
  });

  it.each([['nack'], ['init_ack'], ['challenge'], ['action_notify'], ['bogus']])(
    '[NACK-4] nacks a received %s with "unsupported message type: …" (daemons §1.6 nack)',
    (msgType) => {
      expect(failure(parseMessage(JSON.stringify({ ...INIT, msg_type: msgType }), HOST))).toEqual({
        code: 'PROTO_ERR_UNSUPPORTED_TYPE', nack: `unsupported message type: ${msgType}`,
      });
    },
  );

  it.each([['revision'], ['sequence']])('[NACK-5] nacks a missing %s with "failed to parse %s" (stage B)', (key) => {
    const copy: Record<string, unknown> = { ...INIT };
    delete copy[key];
    expect(failure(parseMessage(JSON.stringify(copy), HOST))).toEqual({ code: 'PROTO_ERR_BAD_FIELD', nack: `failed to parse ${key}` });
  });

  it('[NACK-5] nacks the first bad key in wire order when several are bad', () => {
    const line = JSON.stringify({ ...INIT, sequence: 'x', invocation_id: 'y', corrective_action: 5 });
    expect(failure(parseMessage(line, HOST)).nack).toBe('failed to parse sequence');
    const body = JSON.stringify({ ...INIT, restart_secs: 1.5, name: 3 });
    expect(failure(parseMessage(body, HOST)).nack).toBe('failed to parse name');
  });

  it('nacks a mistyped challenge_response key by name', () => {
    const line = JSON.stringify({ version: 3, revision: 1, msg_type: 'challenge_response', sequence: 1, heartbeat_response: 'x', heartbeat_health: 'healthy', corrective_action: 'none', log_msg: '' });
    expect(failure(parseMessage(line, HOST))).toEqual({ code: 'PROTO_ERR_BAD_FIELD', nack: 'failed to parse heartbeat_response' });
  });

  it('refuses a token longer than 32 characters by naming its key', () => {
    expect(failure(parseMessage(JSON.stringify({ ...INIT, corrective_action: 'x'.repeat(40) }), HOST)).nack).toBe('failed to parse corrective_action');
  });

  it('quotes at most 64 characters of a long unsupported msg_type in the reason', () => {
    const result = parseMessage(JSON.stringify({ ...INIT, msg_type: 'z'.repeat(500) }), HOST);
    expect(result).toMatchObject({ ok: false, code: 'PROTO_ERR_UNSUPPORTED_TYPE', reason: `unsupported msg_type "${'z'.repeat(64)}"` });
  });

  it('never throws on deep nesting or odd JSON', () => {
    for (const line of ['['.repeat(5000), '{"__proto__":{"version":3}}', '{"version":3,"msg_type":"__proto__"}', '\u0000']) {
      expect(parseMessage(line, HOST).ok).toBe(false);
    }
  });
});

describe('parseMessage on a guest (accepting host → guest types)', () => {
  it('refuses guest → host types with the unsupported code (the guest ignores them: client §3)', () => {
    expect(failure(parseMessage(JSON.stringify(INIT), HOST_TO_GUEST_TYPES)).code).toBe('PROTO_ERR_UNSUPPORTED_TYPE');
  });

  it('accepts a challenge without revision checks beyond presence', () => {
    const line = '{"version":3,"revision":1,"msg_type":"challenge","sequence":24,"heartbeat_challenge":3000000000}';
    expect(parseMessage(line, HOST_TO_GUEST_TYPES)).toEqual({
      ok: true, message: { version: 3, revision: 1, msg_type: 'challenge', sequence: 24, heartbeat_challenge: 2147483647 },
    });
  });

  it('drops a version-2 challenge (client §3)', () => {
    const line = '{"version":2,"revision":1,"msg_type":"challenge","sequence":23,"heartbeat_challenge":12345}';
    expect(failure(parseMessage(line, HOST_TO_GUEST_TYPES)).code).toBe('PROTO_ERR_BAD_VERSION');
  });
});
