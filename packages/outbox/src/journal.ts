/**
 * A crash-safe append-only journal used as a small durable key → value store (README "Journal").
 *
 * - put/delete append one checksummed record (journal-codec.ts) with a synchronous write(2): when the call
 *   returns, the record is in the kernel, so a kill -9 of the daemon cannot lose it. fdatasync runs once per
 *   event-loop turn (batched, off the loop's thread), so a power cut loses at most that last turn.
 * - open() replays the file; a torn or corrupt record is reported and skipped, never fatal, and the file
 *   is then rewritten clean.
 * - Compaction keeps the file bounded: past `compactAtBytes` and twice the live data, the live records are
 *   written to `<path>.tmp` (in 64 KiB chunks: journal-snapshot.ts), fsync'd, renamed over the journal and
 *   the directory fsync'd. Records appended meanwhile go to the old file, and the state of each key they
 *   touched is appended to the new one just before the rename, so a crash at any point leaves one complete
 *   journal.
 */
import { closeSync, fdatasync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_MAX_RECORD_BYTES, decodeRecords, encodeRecord, type DamageReport, type JournalRecord } from './journal-codec.js';
import { appendTail, writeLiveRecords } from './journal-snapshot.js';
import type { KeyValueStore } from './key-value-store.js';
import type { OutboxLog } from './outbox.js';

const fdatasyncAsync = promisify(fdatasync);

export interface JournalOptions {
  readonly path: string;
  /** Compaction starts when the file is larger than this and than twice the live records. Default 4 MiB. */
  readonly compactAtBytes?: number;
  /** Larger records are refused on write and treated as corruption on replay. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  readonly log?: OutboxLog;
}

/** What open() found. */
export interface JournalOpenReport {
  readonly records: number;
  readonly liveKeys: number;
  readonly fileBytes: number;
  readonly corrupt: readonly DamageReport[];
  readonly tornTail: DamageReport | undefined;
  /** The file was rewritten at open (after damage, or because it was over the compaction bound). */
  readonly rewritten: boolean;
}

export interface JournalStats {
  readonly fileBytes: number;
  readonly liveBytes: number;
  readonly liveKeys: number;
  readonly compactions: number;
  /** A compaction is running now. */
  readonly compacting: boolean;
  readonly writeErrors: number;
}

export const DEFAULT_COMPACT_AT_BYTES = 4 * 1024 * 1024;

interface Live {
  readonly value: unknown;
  readonly bytes: number;
}

export class Journal implements KeyValueStore {
  readonly #path: string;
  readonly #compactAtBytes: number;
  readonly #maxRecordBytes: number;
  readonly #log: OutboxLog | undefined;
  readonly #live = new Map<string, Live>();
  #fd: number;
  #fileBytes = 0;
  #liveBytes = 0;
  #dirty = false;
  #syncScheduled = false;
  #syncChain: Promise<void> = Promise.resolve();
  /**
   * Keys put or deleted while a compaction runs: their state at the swap is appended to the new file. Keys,
   * not records, so a burst of writes during a compaction (every guest's init after a restart) holds no
   * copy of its records (issue 17).
   */
  #tail: Set<string> | undefined;
  #compaction: Promise<void> | undefined;
  #compactions = 0;
  #writeErrors = 0;
  /** After a failed compaction, the next try waits until the file has grown by compactAtBytes more. */
  #retryCompactAtBytes = 0;
  #closed = false;
  #report: JournalOpenReport | undefined;

  private constructor(options: JournalOptions, fd: number) {
    this.#path = options.path;
    this.#compactAtBytes = options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES;
    this.#maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.#log = options.log;
    this.#fd = fd;
  }

  /** Opens (creating the directory 0700 and the file 0600 when absent) and replays the journal. */
  static async open(options: JournalOptions): Promise<Journal> {
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    rmSync(`${options.path}.tmp`, { force: true });   // a compaction cut short: the journal itself is whole
    let buf: Buffer;
    try {
      buf = readFileSync(options.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    const journal = new Journal(options, openSync(options.path, 'a', 0o600));
    await journal.#replay(buf);
    return journal;
  }

  get path(): string {
    return this.#path;
  }

  /** What open() found (records, damage, rewrite). */
  get openReport(): JournalOpenReport {
    return this.#report ?? { records: 0, liveKeys: 0, fileBytes: 0, corrupt: [], tornTail: undefined, rewritten: false };
  }

  get(key: string): unknown {
    return this.#live.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#live.has(key);
  }

  get size(): number {
    return this.#live.size;
  }

  *entries(): IterableIterator<[string, unknown]> {
    for (const [key, live] of this.#live) yield [key, live.value];
  }

  /** Stores a value (treated as immutable afterwards). Throws TypeError for a value JSON cannot carry. */
  put(key: string, value: unknown): void {
    const buf = encodeRecord({ op: 'put', key, value });
    if (buf.length - 10 > this.#maxRecordBytes) throw new RangeError(`journal record of ${key} is ${buf.length} bytes`);
    const prev = this.#live.get(key);
    this.#liveBytes += buf.length - (prev?.bytes ?? 0);
    this.#live.set(key, { value, bytes: buf.length });
    this.#append(key, buf);
  }

  delete(key: string): void {
    const prev = this.#live.get(key);
    if (prev === undefined) return;
    this.#live.delete(key);
    this.#liveBytes -= prev.bytes;
    this.#append(key, encodeRecord({ op: 'delete', key }));
  }

  /** Resolves when every record written so far is fsync'd. */
  flush(): Promise<void> {
    if (!this.#dirty) return this.#syncChain;
    this.#dirty = false;
    const fd = this.#fd;
    this.#syncChain = this.#syncChain.then(() => fdatasyncAsync(fd)).catch((err: unknown) => {
      this.#log?.error({ err: String(err), path: this.#path }, 'journal fsync failed');
    });
    return this.#syncChain;
  }

  stats(): JournalStats {
    return {
      fileBytes: this.#fileBytes, liveBytes: this.#liveBytes, liveKeys: this.#live.size, compactions: this.#compactions,
      compacting: this.#compaction !== undefined, writeErrors: this.#writeErrors,
    };
  }

  /** Rewrites the live records now (also runs on its own past the bound). */
  compact(): Promise<void> {
    this.#compaction ??= this.#compact().finally(() => {
      this.#compaction = undefined;
    });
    return this.#compaction;
  }

  /** Waits for a compaction, syncs and closes the file. Idempotent; a write after close is dropped and logged. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#compaction;
    await this.flush();
    closeSync(this.#fd);
  }

  #append(key: string, buf: Buffer): void {
    if (this.#closed) {
      // A write racing the daemon's shutdown: dropped, never a crash (once per journal in the log).
      if (this.#writeErrors++ === 0) this.#log?.error({ path: this.#path }, 'journal write after close: dropped');
      return;
    }
    this.#tail?.add(key);
    try {
      writeSync(this.#fd, buf);
      this.#fileBytes += buf.length;
    } catch (err) {
      // The in-memory map stays right; a partial record is skipped at the next replay.
      this.#writeErrors++;
      if (this.#writeErrors === 1 || this.#writeErrors % 100 === 0) {
        this.#log?.error({ err: String(err), path: this.#path, writeErrors: this.#writeErrors }, 'journal write failed');
      }
    }
    this.#dirty = true;
    if (!this.#syncScheduled) {
      this.#syncScheduled = true;
      setImmediate(() => {
        this.#syncScheduled = false;
        if (!this.#closed) void this.flush();
      });
    }
    if (this.#compaction === undefined && this.#compactionDue()) void this.compact();
  }

  async #replay(buf: Buffer): Promise<void> {
    const decoded = decodeRecords(buf, this.#maxRecordBytes);
    for (const { record, bytes } of decoded.records) this.#apply(record, bytes);
    this.#fileBytes = buf.length;
    const damaged = decoded.corrupt.length > 0 || decoded.tornTail !== undefined;
    if (damaged) {
      this.#log?.error({ path: this.#path, corrupt: decoded.corrupt, tornTail: decoded.tornTail }, 'journal damage: records skipped');
    }
    const rewrite = damaged || this.#compactionDue();
    if (rewrite) await this.compact();
    this.#report = {
      records: decoded.records.length, liveKeys: this.#live.size, fileBytes: this.#fileBytes,
      corrupt: decoded.corrupt, tornTail: decoded.tornTail, rewritten: rewrite,
    };
  }

  #apply(record: JournalRecord, bytes: number): void {
    const prev = this.#live.get(record.key);
    if (prev !== undefined) this.#liveBytes -= prev.bytes;
    if (record.op === 'put') {
      this.#live.set(record.key, { value: record.value, bytes });
      this.#liveBytes += bytes;
    } else {
      this.#live.delete(record.key);
    }
  }

  async #compact(): Promise<void> {
    if (this.#closed && this.#report !== undefined) return;
    const tmp = `${this.#path}.tmp`;
    this.#tail = new Set();
    try {
      const handle = await openFile(tmp, 'w', 0o600);
      let snapshotBytes = 0;
      try {
        snapshotBytes = await writeLiveRecords(handle, this.#live);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      // From here to the swap nothing awaits, so no record can slip between the tail copy and the rename.
      const tailBytes = appendTail(tmp, this.#tail, this.#live);
      renameSync(tmp, this.#path);
      const old = this.#fd;
      this.#fd = openSync(this.#path, 'a', 0o600);
      this.#fileBytes = snapshotBytes + tailBytes;
      this.#compactions++;
      // The old descriptor closes only after syncs queued on it are done (no descriptor reuse under them).
      this.#syncChain = this.#syncChain.then(() => closeQuietly(old));
      this.#dirty = true;
      await this.#syncDir();
      await this.flush();
    } catch (err) {
      this.#log?.error({ err: String(err), path: this.#path }, 'journal compaction failed; the journal keeps growing until the next try');
      rmSync(tmp, { force: true });
      this.#retryCompactAtBytes = this.#fileBytes + this.#compactAtBytes;
    } finally {
      this.#tail = undefined;
    }
  }

  async #syncDir(): Promise<void> {
    const handle = await openFile(dirname(this.#path), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  #compactionDue(): boolean {
    return this.#fileBytes > Math.max(this.#compactAtBytes, this.#retryCompactAtBytes) && this.#fileBytes > 2 * this.#liveBytes;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing left to release.
  }
}
