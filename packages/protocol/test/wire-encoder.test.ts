/** Golden bytes of the encoder (daemons §1.4, §1.6; client §3, §4.1): the reference key order, `\n{json}\n`. */
import { describe, expect, it } from 'vitest';
import {
  encodeMessage, FREE_TEXT_LIMITS, hasErrorCode, MAX_MESSAGE_BYTES, SCHEMA_BY_TYPE, WireMessageSchema,
  type WireBody, type WireMessage,
} from '../src/index.js';
import { CLEAN_TRANSCRIPT, TRANSCRIPT } from './fixtures/transcript.js';

function decodeLine(json: string): WireMessage {
  return WireMessageSchema.parse(JSON.parse(json));
}

describe('[WIRE-1] encodeMessage: golden lines of the reference transcript', () => {
  it('covers every type but nack (its transcript line carries a note and has a test of its own)', () => {
    const types = new Set(CLEAN_TRANSCRIPT.map((line) => (JSON.parse(line.json) as { msg_type: string }).msg_type));
    expect([...types].sort()).toEqual(['action_notify', 'action_response', 'challenge', 'challenge_response', 'exit', 'init', 'init_ack']);
    expect(new Set(CLEAN_TRANSCRIPT.map((line) => line.from))).toEqual(new Set(['guest', 'host']));
  });

  it.each(CLEAN_TRANSCRIPT.map((line, index) => [index, line.from, line.json] as const))(
    'line %i (%s) re-encodes byte for byte',
    (_index, _from, json) => {
      expect(encodeMessage(decodeLine(json)).toString('utf8')).toBe(`\n${json}\n`);
    },
  );

  it('writes the nack of the transcript byte for byte (daemons §1.5)', () => {
    const nack = TRANSCRIPT.find((line) => line.json.includes('"msg_type":"nack"'));
    expect(nack).toBeDefined();
    const json = nack?.json ?? '';
    expect(encodeMessage(decodeLine(json)).toString()).toBe(`\n${json}\n`);
  });

  it('adds version 3 and revision 1 to a body without a header (daemons §1.6)', () => {
    const body: WireBody = { msg_type: 'challenge', sequence: 2, heartbeat_challenge: 1164506840 };
    expect(encodeMessage(body).toString()).toBe(
      '\n{"version":3,"revision":1,"msg_type":"challenge","sequence":2,"heartbeat_challenge":1164506840}\n',
    );
  });

  it('writes the header keys in order even when the body lists them otherwise', () => {
    const body = { heartbeat_challenge: 7, sequence: 9, msg_type: 'challenge' } as const;
    expect(encodeMessage(body).toString()).toBe('\n{"version":3,"revision":1,"msg_type":"challenge","sequence":9,"heartbeat_challenge":7}\n');
  });

  it('writes an action_notify exactly as daemons §1.6 shows it', () => {
    const bytes = encodeMessage({
      msg_type: 'action_notify', sequence: 11, invocation_id: 657857425, event_type: 'stop',
      notification_type: 'revocable', timeout_ms: 10000,
    });
    expect(bytes.toString()).toBe(
      '\n{"version":3,"revision":1,"msg_type":"action_notify","sequence":11,"invocation_id":657857425,"event_type":"stop","notification_type":"revocable","timeout_ms":10000}\n',
    );
  });

  it('writes every message type with the keys of KEY_ORDER only (unknown keys dropped)', () => {
    const body = { msg_type: 'exit', sequence: 34, log_msg: 'Exiting...', extra: 1 } as unknown as WireBody;
    expect(encodeMessage(body).toString()).toBe('\n{"version":3,"revision":1,"msg_type":"exit","sequence":34,"log_msg":"Exiting..."}\n');
  });

  it('ends with exactly one newline and starts with one', () => {
    const bytes = encodeMessage({ msg_type: 'init_ack', sequence: 1, invocation_id: 1 });
    expect(bytes[0]).toBe(0x0a);
    expect(bytes.at(-1)).toBe(0x0a);
    expect(bytes.subarray(1, -1).includes(0x0a)).toBe(false);
  });
});

describe('encodeMessage: escaping, integers and limits', () => {
  it('[WIRE-7] JSON-escapes quotes, backslashes and newlines (the original spliced them in raw: daemons §1.5, client §3)', () => {
    const bytes = encodeMessage({ msg_type: 'nack', sequence: 1, invocation_id: 5, log_msg: 'a"b\\c\nd' });
    const text = bytes.toString();
    expect(text).toBe('\n{"version":3,"revision":1,"msg_type":"nack","sequence":1,"invocation_id":5,"log_msg":"a\\"b\\\\c\\nd"}\n');
    expect(text.slice(1, -1).includes('\n')).toBe(false);
    expect((JSON.parse(text) as { log_msg: string }).log_msg).toBe('a"b\\c\nd');
  });

  it('[WIRE-5] writes integers as the original %d of an int32: a uint32 sequence above 2^31−1 prints negative (daemons §1.6)', () => {
    const text = encodeMessage({ msg_type: 'challenge', sequence: 2 ** 31, heartbeat_challenge: 5 }).toString();
    expect(text).toContain('"sequence":-2147483648');
    expect(encodeMessage({ msg_type: 'challenge', sequence: 2 ** 32 + 3, heartbeat_challenge: 5 }).toString()).toContain('"sequence":3,');
  });

  it('never writes a fraction or NaN (not JSON ints)', () => {
    const text = encodeMessage({ msg_type: 'init_ack', sequence: 1.7, invocation_id: Number.NaN }).toString();
    expect(text).toBe('\n{"version":3,"revision":1,"msg_type":"init_ack","sequence":1,"invocation_id":0}\n');
  });

  it('[WIRE-7] cuts log_msg to 223 bytes, as the reference client does (client §3: buffer of 224 with the NUL)', () => {
    const text = encodeMessage({ msg_type: 'exit', sequence: 1, log_msg: 'x'.repeat(500) }).toString();
    expect(FREE_TEXT_LIMITS['log_msg']).toBe(224);
    expect((JSON.parse(text) as { log_msg: string }).log_msg).toBe('x'.repeat(223));
  });

  it('cuts name to 63 bytes (client §3: buffer of 64)', () => {
    const bytes = encodeMessage({
      msg_type: 'init', sequence: 1, invocation_id: 1, name: 'n'.repeat(100), heartbeat_interval_ms: 1000,
      vote_secs: 9, shutdown_notice_secs: 9, suspend_notice_secs: 9, resume_notice_secs: 14, restart_secs: 601,
      corrective_action: 'reboot',
    });
    expect((JSON.parse(bytes.toString()) as { name: string }).name).toBe('n'.repeat(63));
  });

  it('counts the cut in UTF-8 bytes and never splits a character', () => {
    // 'é' is 2 bytes: 111 of them are 222 bytes; a 112th would make 224 > 223.
    const text = encodeMessage({ msg_type: 'exit', sequence: 1, log_msg: 'é'.repeat(200) }).toString();
    const logMsg = (JSON.parse(text) as { log_msg: string }).log_msg;
    expect(logMsg).toBe('é'.repeat(111));
    const emoji = encodeMessage({ msg_type: 'exit', sequence: 1, log_msg: '😀'.repeat(100) }).toString();
    const cut = (JSON.parse(emoji) as { log_msg: string }).log_msg;
    expect(cut).toBe('😀'.repeat(55));
    expect(Buffer.byteLength(cut)).toBe(220);
  });

  it('keeps free text at or under the limit unchanged', () => {
    const log = 'y'.repeat(223);
    expect((JSON.parse(encodeMessage({ msg_type: 'exit', sequence: 1, log_msg: log }).toString()) as { log_msg: string }).log_msg).toBe(log);
  });

  it('[WIRE-2] shortens log_msg further when its escapes would push the message over 1056 bytes (daemons §1.4)', () => {
    const control = '\u0001'.repeat(223);   // each escapes to \u0001: 6 bytes
    const bytes = encodeMessage({ msg_type: 'exit', sequence: 1, log_msg: control });
    expect(bytes.length - 2).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(bytes.length - 2).toBeGreaterThan(MAX_MESSAGE_BYTES - 6);
    const logMsg = (JSON.parse(bytes.toString()) as { log_msg: string }).log_msg;
    expect(control.startsWith(logMsg)).toBe(true);
    expect(logMsg.length).toBeLessThan(223);
  });

  it('throws PROTO_ERR_MESSAGE_TOO_LARGE when a non-free-text value cannot fit', () => {
    const body = {
      msg_type: 'action_notify', sequence: 1, invocation_id: 1, event_type: 'e'.repeat(2000),
      notification_type: 'revocable', timeout_ms: 1,
    } as unknown as WireBody;
    let caught: unknown;
    try {
      encodeMessage(body);
    } catch (err) {
      caught = err;
    }
    expect(hasErrorCode(caught, 'PROTO_ERR_MESSAGE_TOO_LARGE')).toBe(true);
  });

  it('round-trips every type through its schema', () => {
    const bodies: WireBody[] = [
      { msg_type: 'init', sequence: 1, invocation_id: 2, name: 'vm', heartbeat_interval_ms: 400, vote_secs: 1, shutdown_notice_secs: 2, suspend_notice_secs: 3, resume_notice_secs: 4, restart_secs: 5, corrective_action: 'stop' },
      { msg_type: 'init_ack', sequence: 2, invocation_id: 2 },
      { msg_type: 'challenge', sequence: 3, heartbeat_challenge: 0 },
      { msg_type: 'challenge_response', sequence: 4, heartbeat_response: 0, heartbeat_health: 'unhealthy', corrective_action: 'log', log_msg: 'sick' },
      { msg_type: 'action_notify', sequence: 5, invocation_id: 9, event_type: 'cold_migrate_end', notification_type: 'irrevocable', timeout_ms: 0 },
      { msg_type: 'action_response', sequence: 6, invocation_id: 9, event_type: 'pause', notification_type: 'revocable', vote_result: 'timeout', log_msg: '' },
      { msg_type: 'exit', sequence: 7, log_msg: 'bye' },
      { msg_type: 'nack', sequence: 8, invocation_id: 9, log_msg: 'failed to parse version' },
    ];
    for (const body of bodies) {
      const parsed = SCHEMA_BY_TYPE[body.msg_type].parse(JSON.parse(encodeMessage(body).toString()));
      expect(parsed).toEqual({ version: 3, revision: 1, ...body });
    }
  });
});
