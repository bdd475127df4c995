/**
 * How a compaction writes the journal's live records (journal.ts): in chunks of ~64 KiB of encoded records,
 * so the memory a compaction needs is one chunk, whatever the journal's size (issue 17: building the whole
 * snapshot and concatenating it took the journal's size twice, at once, outside V8's heap, where the C
 * allocator kept it after a restart burst).
 */
import { closeSync, openSync, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { encodeRecord } from './journal-codec.js';

/** Bytes of encoded records a compaction holds before it writes them (the snapshot is never built whole). */
const COMPACTION_CHUNK_BYTES = 64 * 1024;

/**
 * Writes a put record for every live key, in chunks of ~COMPACTION_CHUNK_BYTES: memory stays one chunk, not
 * the whole journal twice (its records and their concatenation: ~8 MB at 10 000 guests, allocated at once
 * outside V8's heap, where the C allocator kept it after a restart burst; issue 17). The map may change
 * between chunks (puts and deletes made meanwhile); that is safe because every such change is also in the
 * compaction's tail, appended after these records. Returns the bytes written.
 */
export async function writeLiveRecords(handle: FileHandle, live: ReadonlyMap<string, { readonly value: unknown }>): Promise<number> {
  let written = 0;
  for (const chunk of chunks(liveRecords(live))) {
    await writeAll(handle, chunk.parts);
    written += chunk.bytes;
  }
  return written;
}

/**
 * Appends to `tmp`, synchronously, the state at this moment of every key changed during the compaction: a
 * put of its value or a delete, in chunks of ~COMPACTION_CHUNK_BYTES. Returns the bytes written.
 */
export function appendTail(tmp: string, keys: ReadonlySet<string>, live: ReadonlyMap<string, { readonly value: unknown }>): number {
  if (keys.size === 0) return 0;
  const fd = openSync(tmp, 'a');
  let written = 0;
  try {
    for (const chunk of chunks(tailRecords(keys, live))) {
      writeAllSync(fd, chunk.parts);
      written += chunk.bytes;
    }
    return written;
  } finally {
    closeSync(fd);
  }
}

function* liveRecords(live: ReadonlyMap<string, { readonly value: unknown }>): Generator<Buffer> {
  for (const [key, entry] of live) yield encodeRecord({ op: 'put', key, value: entry.value });
}

function* tailRecords(keys: ReadonlySet<string>, live: ReadonlyMap<string, { readonly value: unknown }>): Generator<Buffer> {
  for (const key of keys) {
    const entry = live.get(key);
    yield encodeRecord(entry === undefined ? { op: 'delete', key } : { op: 'put', key, value: entry.value });
  }
}

/** Encoded records grouped into chunks of ~COMPACTION_CHUNK_BYTES, made lazily (one chunk held at a time). */
function* chunks(records: Iterable<Buffer>): Generator<{ readonly parts: Buffer[]; readonly bytes: number }> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for (const buf of records) {
    parts.push(buf);
    bytes += buf.length;
    if (bytes < COMPACTION_CHUNK_BYTES) continue;
    yield { parts, bytes };
    parts = [];
    bytes = 0;
  }
  if (bytes > 0) yield { parts, bytes };
}

/** writevSync until every byte of `parts` is written. */
function writeAllSync(fd: number, parts: Buffer[]): void {
  let rest = parts;
  while (rest.length > 0) {
    const bytesWritten = writevSync(fd, rest);
    if (bytesWritten <= 0) throw new Error('journal compaction: writev wrote nothing');
    rest = unwritten(rest, bytesWritten);
  }
}

/** The parts of `parts` after its first `bytes` bytes. */
function unwritten(parts: readonly Buffer[], bytes: number): Buffer[] {
  let skip = bytes;
  const next: Buffer[] = [];
  for (const part of parts) {
    if (skip >= part.length) skip -= part.length;
    else {
      next.push(skip > 0 ? part.subarray(skip) : part);
      skip = 0;
    }
  }
  return next;
}

/** writev until every byte of `parts` is written (a regular file may take a writev in part). */
async function writeAll(handle: FileHandle, parts: Buffer[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    if (bytesWritten <= 0) throw new Error('journal compaction: writev wrote nothing');
    rest = unwritten(rest, bytesWritten);
  }
}
