/**
 * The journal's record format, pure (no fs): every record is
 *
 *   magic "gJ" (2 bytes) | payload length (u32 LE) | CRC-32 of the payload (u32 LE) | payload (UTF-8 JSON)
 *
 * with the payload `{"k":key,"v":value}` for a put and `{"k":key}` for a delete. Decoding never throws:
 * a record whose magic, length, checksum or JSON is wrong is reported and skipped by scanning forward to
 * the next offset where a whole valid record starts; bytes that end the file without forming a record are
 * a torn tail (a write cut short by a crash or a full disk).
 */
import { crc32 } from 'node:zlib';

const MAGIC_0 = 0x67; // 'g'
const MAGIC_1 = 0x4a; // 'J'
export const RECORD_HEADER_BYTES = 10;
/** Default ceiling of one record's payload: bigger lengths are corruption. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

export type JournalRecord =
  | { readonly op: 'put'; readonly key: string; readonly value: unknown }
  | { readonly op: 'delete'; readonly key: string };

/** One encoded record. Throws TypeError for a value JSON cannot carry (undefined, a function, a BigInt). */
export function encodeRecord(record: JournalRecord): Buffer {
  if (record.op === 'put' && (record.value === undefined || typeof record.value === 'function' || typeof record.value === 'symbol')) {
    throw new TypeError(`journal value of ${record.key} is not JSON`);
  }
  const json = record.op === 'put' ? JSON.stringify({ k: record.key, v: record.value }) : JSON.stringify({ k: record.key });
  // One buffer, the JSON written into it after the header: no intermediate payload buffer (a burst of
  // records, e.g. every guest's init after a restart, allocated each record's bytes twice; issue 17).
  const length = Buffer.byteLength(json, 'utf8');
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  out.write(json, RECORD_HEADER_BYTES, 'utf8');
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out.writeUInt32LE(length, 2);
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER_BYTES)), 6);
  return out;
}

export interface DecodedRecord {
  readonly record: JournalRecord;
  readonly offset: number;
  /** Bytes of the record, header included. */
  readonly bytes: number;
}

export interface DamageReport {
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

export interface DecodeResult {
  readonly records: readonly DecodedRecord[];
  /** Skipped stretches in the middle of the file (each followed by a valid record). */
  readonly corrupt: readonly DamageReport[];
  /** A stretch at the end that forms no record (undefined when the file ends cleanly). */
  readonly tornTail: DamageReport | undefined;
}

/** Decodes a whole journal file. */
export function decodeRecords(buf: Buffer, maxRecordBytes = DEFAULT_MAX_RECORD_BYTES): DecodeResult {
  const records: DecodedRecord[] = [];
  const corrupt: DamageReport[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const one = decodeAt(buf, pos, maxRecordBytes);
    if (one.ok) {
      records.push({ record: one.record, offset: pos, bytes: one.bytes });
      pos += one.bytes;
      continue;
    }
    const next = resync(buf, pos + 1, maxRecordBytes);
    if (next === undefined) {
      return { records, corrupt, tornTail: { offset: pos, bytes: buf.length - pos, reason: one.reason } };
    }
    corrupt.push({ offset: pos, bytes: next - pos, reason: one.reason });
    pos = next;
  }
  return { records, corrupt, tornTail: undefined };
}

type Attempt = { readonly ok: true; readonly record: JournalRecord; readonly bytes: number } | { readonly ok: false; readonly reason: string };

function decodeAt(buf: Buffer, pos: number, maxRecordBytes: number): Attempt {
  if (buf.length - pos < RECORD_HEADER_BYTES) return { ok: false, reason: 'incomplete header' };
  if (buf[pos] !== MAGIC_0 || buf[pos + 1] !== MAGIC_1) return { ok: false, reason: 'bad magic' };
  const length = buf.readUInt32LE(pos + 2);
  if (length > maxRecordBytes) return { ok: false, reason: `length ${length} over ${maxRecordBytes}` };
  const end = pos + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return { ok: false, reason: 'incomplete payload' };
  const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
  if (crc32(payload) !== buf.readUInt32LE(pos + 6)) return { ok: false, reason: 'checksum mismatch' };
  const record = parsePayload(payload);
  if (record === undefined) return { ok: false, reason: 'payload is not a record' };
  return { ok: true, record, bytes: end - pos };
}

function parsePayload(payload: Buffer): JournalRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  if (typeof o['k'] !== 'string') return undefined;
  return 'v' in o ? { op: 'put', key: o['k'], value: o['v'] } : { op: 'delete', key: o['k'] };
}

/** The next offset ≥ from where a whole valid record starts, or undefined. */
function resync(buf: Buffer, from: number, maxRecordBytes: number): number | undefined {
  let at = buf.indexOf(MAGIC_0, from);
  while (at >= 0) {
    if (buf[at + 1] === MAGIC_1 && decodeAt(buf, at, maxRecordBytes).ok) return at;
    at = buf.indexOf(MAGIC_0, at + 1);
  }
  return undefined;
}
