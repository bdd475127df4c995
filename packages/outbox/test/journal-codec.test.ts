/** The journal record format: round trip, torn tails and corrupt records are reported and skipped (pure). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RECORD_HEADER_BYTES, decodeRecords, encodeRecord, type JournalRecord } from '../src/journal-codec.js';

const put = (key: string, value: unknown): JournalRecord => ({ op: 'put', key, value });
const file = (...records: JournalRecord[]): Buffer => Buffer.concat(records.map(encodeRecord));

describe('journal codec', () => {
  it('round-trips puts and deletes', () => {
    const buf = file(put('a', { x: 1 }), { op: 'delete', key: 'a' }, put('b', null), put('ü', 'ß'));
    const out = decodeRecords(buf);
    expect(out.records.map((r) => r.record)).toEqual([put('a', { x: 1 }), { op: 'delete', key: 'a' }, put('b', null), put('ü', 'ß')]);
    expect(out.corrupt).toEqual([]);
    expect(out.tornTail).toBeUndefined();
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => encodeRecord(put('a', undefined))).toThrow(TypeError);
    expect(() => encodeRecord(put('a', () => 1))).toThrow(TypeError);
  });

  it('reports a torn tail at every cut point and keeps the whole records before it', () => {
    const whole = file(put('a', 1), put('b', 2));
    const firstBytes = encodeRecord(put('a', 1)).length;
    for (let cut = firstBytes + 1; cut < whole.length; cut++) {
      const out = decodeRecords(whole.subarray(0, cut));
      expect(out.records.map((r) => r.record)).toEqual([put('a', 1)]);
      expect(out.tornTail).toEqual(expect.objectContaining({ offset: firstBytes, bytes: cut - firstBytes }));
    }
  });

  it('skips a record with a flipped byte and resumes at the next one', () => {
    const a = encodeRecord(put('a', 'first'));
    const buf = file(put('a', 'first'), put('b', 'second'), put('c', 'third'));
    for (let at = 0; at < a.length; at++) {
      const damaged = Buffer.from(buf);
      damaged[at] = (damaged[at] ?? 0) ^ 0x40;
      const out = decodeRecords(damaged);
      expect(out.records.map((r) => r.record)).toEqual([put('b', 'second'), put('c', 'third')]);
      expect(out.corrupt).toHaveLength(1);
      expect(out.corrupt[0]?.offset).toBe(0);
    }
  });

  it('treats an absurd length as corruption, and a checksummed non-record payload too', () => {
    const big = encodeRecord(put('a', 1));
    big.writeUInt32LE(0x7fffffff, 2);
    const out = decodeRecords(Buffer.concat([big, encodeRecord(put('b', 2))]));
    expect(out.records.map((r) => r.record)).toEqual([put('b', 2)]);
    expect(out.corrupt[0]?.reason).toMatch(/length/);
    expect(RECORD_HEADER_BYTES).toBe(10);
  });

  it('never throws on arbitrary bytes, and whole records after garbage are found', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 50 }), (garbage, tail) => {
      const good = encodeRecord(put('key', { n: 1 }));
      const out = decodeRecords(Buffer.concat([Buffer.from(garbage), good, Buffer.from(tail)]));
      expect(out.records.some((r) => r.record.key === 'key')).toBe(true);
    }), { numRuns: 300 });
  });
});
