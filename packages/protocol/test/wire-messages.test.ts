/** Schemas of the 8 host↔guest messages: valid and invalid cases taken from the spec (daemons §1.5–§1.6, client §3–§4). */
import { describe, expect, it } from 'vitest';
import {
  ActionNotifySchema, ActionResponseSchema, ChallengeResponseSchema, ChallengeSchema, ExitSchema, HeaderSchema,
  InitAckSchema, InitSchema, Int32Schema, KEY_ORDER, MESSAGE_TYPES, NackSchema, SCHEMA_BY_TYPE, VALUE_LIMITS,
  WireMessageSchema,
} from '../src/index.js';
import { TRANSCRIPT } from './fixtures/transcript.js';

const HEADER = { version: 3, revision: 1, sequence: 1 };
const INIT = {
  ...HEADER, msg_type: 'init', invocation_id: 1804289383, name: 'test-vm', heartbeat_interval_ms: 1000, vote_secs: 9,
  shutdown_notice_secs: 9, suspend_notice_secs: 9, resume_notice_secs: 14, restart_secs: 601, corrective_action: 'reboot',
};
const CHALLENGE_RESPONSE = {
  ...HEADER, msg_type: 'challenge_response', heartbeat_response: 1164506840, heartbeat_health: 'healthy',
  corrective_action: 'reboot', log_msg: '',
};
const ACTION_NOTIFY = {
  ...HEADER, msg_type: 'action_notify', invocation_id: 657857425, event_type: 'stop', notification_type: 'revocable', timeout_ms: 10000,
};
const ACTION_RESPONSE = {
  ...HEADER, msg_type: 'action_response', invocation_id: 657857425, event_type: 'stop', notification_type: 'revocable',
  vote_result: 'accept', log_msg: 'File /tmp/vote_no_to_stop does not exist. ',
};
const VALID = {
  init: INIT,
  init_ack: { ...HEADER, msg_type: 'init_ack', invocation_id: 1804289383 },
  challenge: { ...HEADER, msg_type: 'challenge', heartbeat_challenge: 1164506840 },
  challenge_response: CHALLENGE_RESPONSE,
  action_notify: ACTION_NOTIFY,
  action_response: ACTION_RESPONSE,
  exit: { ...HEADER, msg_type: 'exit', log_msg: 'Exiting...' },
  nack: { ...HEADER, msg_type: 'nack', invocation_id: 42, log_msg: 'test nack from host peer' },
} as const;

describe('every transcript message parses', () => {
  it.each(TRANSCRIPT.map((line) => [line.json.slice(0, 60), line.json] as const))('%s…', (_label, json) => {
    expect(WireMessageSchema.safeParse(JSON.parse(json)).success).toBe(true);
  });
});

describe.each(MESSAGE_TYPES.map((type) => [type] as const))('%s', (type) => {
  const schema = SCHEMA_BY_TYPE[type];
  const valid: Record<string, unknown> = VALID[type];

  it('accepts the spec example and keeps every key', () => {
    expect(schema.parse(valid)).toEqual(valid);
  });

  it.each([...['version', 'revision', 'msg_type', 'sequence'], ...KEY_ORDER[type]].map((key) => [key] as const))(
    '[WIRE-8] refuses the message without %s (daemons §1.5 stage B: "failed to parse <key>")',
    (key) => {
      const copy = { ...valid };
      delete copy[key];
      const result = schema.safeParse(copy);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path[0]).toBe(key);
    },
  );

  it.each(['heartbeat_challenge', 'heartbeat_response', 'invocation_id', 'timeout_ms', 'sequence', 'revision'].filter((k) => k in valid).map((k) => [k] as const))(
    'refuses %s as a string, boolean or fraction (integers only: daemons §1.5, §9 item 24)',
    (key) => {
      for (const bad of ['5', true, 1.5, null]) {
        expect(schema.safeParse({ ...valid, [key]: bad }).success).toBe(false);
      }
    },
  );

  it('[WIRE-8] strips unknown keys (tolerant reader: a newer peer may add some)', () => {
    const parsed = schema.parse({ ...valid, future_key: 'x' }) as Record<string, unknown>;
    expect(parsed['future_key']).toBeUndefined();
  });

  it('is the member of the discriminated union for its msg_type', () => {
    expect(WireMessageSchema.parse(valid)).toEqual(valid);
    const other = MESSAGE_TYPES.find((t) => t !== type) ?? 'init';
    expect(schema.safeParse({ ...valid, msg_type: other }).success).toBe(false);
  });
});

describe('[WIRE-5] Int32Schema: integers as json_object_get_int reads them (client §3)', () => {
  it.each([
    [0, 0], [-1, -1], [2147483647, 2147483647], [3000000000, 2147483647], [-3000000000, -2147483648],
    [1e20, 2147483647], [-1e20, -2147483648], [1e3, 1000],
  ])('%d → %d', (input, output) => {
    expect(Int32Schema.parse(input)).toBe(output);
  });

  it.each([[1.5], [true], [false], ['1'], [null], [Number.NaN], [Infinity]])('refuses %s', (input) => {
    expect(Int32Schema.safeParse(input).success).toBe(false);
  });

  it('clamps the transcript challenge of 3000000000 as the reference client did (echoed as 2147483647)', () => {
    const line = TRANSCRIPT.find((l) => l.json.includes('3000000000'));
    expect(ChallengeSchema.parse(JSON.parse(line?.json ?? '{}')).heartbeat_challenge).toBe(2147483647);
  });
});

describe('header', () => {
  it('accepts versions above 3 and any revision (daemons §1.5, §1.7)', () => {
    expect(HeaderSchema.parse({ ...HEADER, version: 7, revision: 99, msg_type: 'x' }).version).toBe(7);
  });

  it('refuses a msg_type longer than 32 characters (client §3 buffer)', () => {
    expect(HeaderSchema.safeParse({ ...HEADER, msg_type: 'm'.repeat(VALUE_LIMITS.tokenChars) }).success).toBe(true);
    expect(HeaderSchema.safeParse({ ...HEADER, msg_type: 'm'.repeat(VALUE_LIMITS.tokenChars + 1) }).success).toBe(false);
  });
});

describe('[WIRE-6] vocabularies fall back to unknown, as the reference implementations do (daemons §1.6, client §4.2)', () => {
  it('maps an unknown corrective_action to unknown', () => {
    expect(InitSchema.parse({ ...INIT, corrective_action: 'explode' }).corrective_action).toBe('unknown');
  });

  it.each(['none', 'reboot', 'stop', 'log', 'unknown'])('keeps corrective_action %s', (action) => {
    expect(ChallengeResponseSchema.parse({ ...CHALLENGE_RESPONSE, corrective_action: action }).corrective_action).toBe(action);
  });

  it('maps unknown event, notification and vote values to unknown', () => {
    const parsed = ActionResponseSchema.parse({ ...ACTION_RESPONSE, event_type: 'teleport', notification_type: 'maybe', vote_result: 'abstain' });
    expect([parsed.event_type, parsed.notification_type, parsed.vote_result]).toEqual(['unknown', 'unknown', 'unknown']);
  });

  it.each(['stop', 'reboot', 'suspend', 'pause', 'unpause', 'resume', 'resize_begin', 'resize_end', 'live_migrate_begin', 'live_migrate_end', 'cold_migrate_begin', 'cold_migrate_end'])(
    'keeps event_type %s',
    (event) => {
      expect(ActionNotifySchema.parse({ ...ACTION_NOTIFY, event_type: event }).event_type).toBe(event);
    },
  );

  it.each(['accept', 'reject', 'complete', 'timeout', 'error'])('keeps vote_result %s', (vote) => {
    expect(ActionResponseSchema.parse({ ...ACTION_RESPONSE, vote_result: vote }).vote_result).toBe(vote);
  });

  it('refuses a vocabulary value longer than 32 characters rather than mapping it (client §3 buffer)', () => {
    expect(ActionNotifySchema.safeParse({ ...ACTION_NOTIFY, event_type: 'e'.repeat(33) }).success).toBe(false);
    expect(InitSchema.safeParse({ ...INIT, corrective_action: 'c'.repeat(33) }).success).toBe(false);
  });

  it('refuses a vocabulary value that is not a string', () => {
    expect(ActionNotifySchema.safeParse({ ...ACTION_NOTIFY, notification_type: 1 }).success).toBe(false);
  });
});

describe('[WIRE-6] heartbeat_health (daemons §1.6: anything but healthy counts as unhealthy)', () => {
  it.each([['healthy', 'healthy'], ['unhealthy', 'unhealthy'], ['Healthy', 'unhealthy'], ['', 'unhealthy'], ['sick', 'unhealthy']])(
    '%j → %s',
    (input, output) => {
      expect(ChallengeResponseSchema.parse({ ...CHALLENGE_RESPONSE, heartbeat_health: input }).heartbeat_health).toBe(output);
    },
  );

  it('refuses a non-string health', () => {
    expect(ChallengeResponseSchema.safeParse({ ...CHALLENGE_RESPONSE, heartbeat_health: true }).success).toBe(false);
  });
});

describe('[WIRE-7] free text is cut, not refused (client §3 limits: name 64, log_msg 224)', () => {
  it('cuts name to 64 characters', () => {
    expect(InitSchema.parse({ ...INIT, name: 'n'.repeat(300) }).name).toBe('n'.repeat(64));
  });

  it('cuts log_msg to 224 characters in every message that has one', () => {
    const long = 'L'.repeat(1000);
    expect(ChallengeResponseSchema.parse({ ...CHALLENGE_RESPONSE, log_msg: long }).log_msg).toHaveLength(224);
    expect(ActionResponseSchema.parse({ ...ACTION_RESPONSE, log_msg: long }).log_msg).toHaveLength(224);
    expect(ExitSchema.parse({ ...VALID.exit, log_msg: long }).log_msg).toHaveLength(224);
    expect(NackSchema.parse({ ...VALID.nack, log_msg: long }).log_msg).toHaveLength(224);
  });

  it('refuses free text that is not a string', () => {
    expect(InitSchema.safeParse({ ...INIT, name: 5 }).success).toBe(false);
    expect(ExitSchema.safeParse({ ...VALID.exit, log_msg: null }).success).toBe(false);
  });
});

describe('init', () => {
  it('keeps a heartbeat_interval_ms below the 400 ms floor (raising it is the server\'s rule, daemons §1.6)', () => {
    expect(InitSchema.parse({ ...INIT, heartbeat_interval_ms: 100 }).heartbeat_interval_ms).toBe(100);
  });

  it('refuses an init with a mistyped timeout', () => {
    expect(InitSchema.safeParse({ ...INIT, vote_secs: '9' }).success).toBe(false);
  });
});

describe('init_ack', () => {
  it('refuses a missing invocation_id', () => {
    expect(InitAckSchema.safeParse({ ...HEADER, msg_type: 'init_ack' }).success).toBe(false);
  });
});
