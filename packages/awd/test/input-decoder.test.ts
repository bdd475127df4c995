import { describe, expect, it } from 'vitest';
import { createInputDecoder, MAX_FRAME_BYTES, PULSE_FRAME, REPLY_FRAME } from '../src/input-decoder.js';
import { frame } from './helpers.js';

describe('input decoders', () => {
  it('the patch pulses: 0x18 and 0x1E length headers with NUL-terminated text (awd spec §2.2)', () => {
    expect(PULSE_FRAME.subarray(0, 4)).toEqual(Buffer.from([0, 0, 0, 0x18]));
    expect(PULSE_FRAME.subarray(4).toString('latin1')).toBe('advanced-watchdog pulse\0');
    expect(REPLY_FRAME.subarray(0, 4)).toEqual(Buffer.from([0, 0, 0, 0x1e]));
    expect(REPLY_FRAME.length).toBe(34);
  });

  it('any: each non-empty chunk is one input; reply-only chunks earn no reply', () => {
    const d = createInputDecoder('any');
    expect(d.push(Buffer.from('hello'))).toEqual({ inputs: 1, replies: 1, problems: [] });
    expect(d.push(Buffer.alloc(0)).inputs).toBe(0);
    expect(d.push(Buffer.concat([REPLY_FRAME, REPLY_FRAME]))).toEqual({ inputs: 1, replies: 0, problems: [] });
  });

  it('frame: reassembles frames split at any byte and counts several per chunk', () => {
    const d = createInputDecoder('frame');
    const bytes = Buffer.concat([frame('one'), frame(''), frame('three'), PULSE_FRAME]);
    let inputs = 0;
    for (const byte of bytes) inputs += d.push(Buffer.from([byte])).inputs;
    expect(inputs).toBe(4);
    expect(d.push(bytes).inputs).toBe(4);
  });

  it('frame: an over-long length resets the parser and keeps listening (patch gave up for good)', () => {
    const d = createInputDecoder('frame');
    const r = d.push(Buffer.from('hello\n'));
    expect(r.inputs).toBe(0);
    expect(r.problems[0]).toMatch(/exceeds 69632/);
    expect(d.push(frame('ok')).inputs).toBe(1);
  });

  it('frame: accepts exactly MAX_FRAME_BYTES', () => {
    const d = createInputDecoder('frame');
    expect(d.push(frame('x'.repeat(MAX_FRAME_BYTES))).inputs).toBe(1);
  });

  it('frame: reset drops a cut frame so the next connection starts in step (awd spec §2.4)', () => {
    const d = createInputDecoder('frame');
    d.push(frame('abcdef').subarray(0, 6));
    d.reset();
    expect(d.push(frame('x')).inputs).toBe(1);
  });

  it('watchdog1: exact WATCHDOG=1 lines, CRLF tolerated, with or without the newline, never twice', () => {
    const d = createInputDecoder('watchdog1');
    expect(d.push(Buffer.from('WATCHDOG=1\nWATCHDOG=1\r\nWATCHDOG=2\nfoo\n')).inputs).toBe(2);
    expect(d.push(Buffer.from('WATCHDOG=1')).inputs).toBe(1);
    expect(d.push(Buffer.from('\n')).inputs).toBe(0);
    expect(d.push(Buffer.from('WATCH')).inputs).toBe(0);
    expect(d.push(Buffer.from('DOG=1\n')).inputs).toBe(1);
    expect(d.push(Buffer.from('xWATCHDOG=1\n')).inputs).toBe(0);
  });

  it('watchdog1: a line without end is bounded', () => {
    const d = createInputDecoder('watchdog1');
    const r = d.push(Buffer.alloc(10_000, 0x41));
    expect(r.problems).toHaveLength(1);
    expect(d.push(Buffer.from('\nWATCHDOG=1\n')).inputs).toBe(1);
  });
});
