/**
 * The framer decodes a whole line of a Buffer read in place (Buffer#toString, issue 17) and anything else
 * with TextDecoder: both must give the same text for any bytes, bad UTF-8 and BOMs included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer } from '../src/index.js';

const bytes = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x0a, 0x0d, 0x20, 0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80, 0xff),
), { maxLength: 300 });

describe('LineFramer: in-place decoding of Buffer reads', () => {
  it('gives the same lines for a Buffer and for a plain Uint8Array of the same bytes, whole or split', () => {
    fc.assert(fc.property(bytes, fc.nat({ max: 300 }), (list, cutAt) => {
      const data = Uint8Array.from(list);
      const cut = Math.min(cutAt, data.length);
      const viaBuffer = new LineFramer(128);
      const viaView = new LineFramer(128);
      const a = [...viaBuffer.push(Buffer.from(data.subarray(0, cut))), ...viaBuffer.push(Buffer.from(data.subarray(cut)))];
      const b = [...viaView.push(data.slice(0, cut)), ...viaView.push(data.slice(cut))];
      expect(a).toEqual(b);
    }), { numRuns: 3_000 });
  });

  it('bad UTF-8 becomes U+FFFD, and a leading BOM is trimmed as whitespace, as with TextDecoder', () => {
    const framer = new LineFramer();
    const [line] = framer.push(Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x62, 0xc3, 0x0a]));
    expect(line).toEqual({ kind: 'line', text: 'a\ufffdb\ufffd' });
  });
});
