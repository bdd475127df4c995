/** The journal on real files: replay, damage, compaction and its bound, and kill -9 of a writing child. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, appendFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Journal } from '../src/journal.js';
import { encodeRecord } from '../src/journal-codec.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jn-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(path: string, compactAtBytes?: number): Promise<Journal> {
  const j = await Journal.open(compactAtBytes === undefined ? { path } : { path, compactAtBytes });
  onTestFinished(() => j.close());
  return j;
}

describe('Journal', () => {
  it('creates its directory 0700 and file 0600, and replays puts and deletes (latest wins)', async () => {
    const dir = join(await tempDir(), 'state');
    const path = join(dir, 'j.log');
    const j1 = await Journal.open({ path });
    j1.put('a', { v: 1 });
    j1.put('b', 'x');
    j1.put('a', { v: 2 });
    j1.delete('b');
    j1.delete('never');
    await j1.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const j2 = await open(path);
    expect([...j2.entries()]).toEqual([['a', { v: 2 }]]);
    expect(j2.openReport).toEqual(expect.objectContaining({ records: 4, liveKeys: 1, corrupt: [], tornTail: undefined, rewritten: false }));
  });

  it('skips a torn tail, reports it and rewrites the file clean', async () => {
    const path = join(await tempDir(), 'j.log');
    const j1 = await Journal.open({ path });
    j1.put('a', 1);
    j1.put('b', 2);
    await j1.close();
    await appendFile(path, encodeRecord({ op: 'put', key: 'c', value: 3 }).subarray(0, 7));
    const j2 = await Journal.open({ path });
    expect([...j2.entries()].sort()).toEqual([['a', 1], ['b', 2]]);
    expect(j2.openReport.tornTail?.bytes).toBe(7);
    expect(j2.openReport.rewritten).toBe(true);
    j2.put('d', 4);
    await j2.close();
    const j3 = await open(path);
    expect([...j3.entries()].sort()).toEqual([['a', 1], ['b', 2], ['d', 4]]);
    expect(j3.openReport.tornTail).toBeUndefined();
  });

  it('skips a record with a flipped byte and keeps the others', async () => {
    const path = join(await tempDir(), 'j.log');
    const j1 = await Journal.open({ path });
    j1.put('a', 'aaaa');
    j1.put('b', 'bbbb');
    j1.put('c', 'cccc');
    await j1.close();
    const buf = await readFile(path);
    const first = encodeRecord({ op: 'put', key: 'a', value: 'aaaa' }).length;
    buf[first + 12] = (buf[first + 12] ?? 0) ^ 0xff;    // inside b's payload
    await writeFile(path, buf);
    const j2 = await open(path);
    expect([...j2.entries()].sort()).toEqual([['a', 'aaaa'], ['c', 'cccc']]);
    expect(j2.openReport.corrupt).toHaveLength(1);
    expect(j2.openReport.corrupt[0]?.reason).toBe('checksum mismatch');
  });

  it('compacts past the bound: the file stays small, the content stays whole, no temp file is left', async () => {
    const dir = await tempDir();
    const path = join(dir, 'j.log');
    const j = await Journal.open({ path, compactAtBytes: 16 * 1024 });
    for (let i = 0; i < 5_000; i++) {
      j.put(`k${i % 20}`, { i, pad: 'p'.repeat(50) });
      if (i % 250 === 0) {
        // Let a compaction that started on its own finish (its speed is the disk's).
        while (j.stats().compacting) await new Promise((r) => setTimeout(r, 1));
        expect(j.stats().fileBytes).toBeLessThan(64 * 1024);
      }
    }
    // ~450 kB were written; the file never held them all.
    expect(j.stats().compactions).toBeGreaterThan(5);
    await j.compact();
    await j.close();
    expect((await stat(path)).size).toBeLessThan(32 * 1024);
    expect(await readdir(dir)).toEqual(['j.log']);
    const again = await open(path);
    expect(again.size).toBe(20);
    expect(again.get('k19')).toEqual({ i: 4_999, pad: 'p'.repeat(50) });
  });

  it('compacts a live set many chunks long while puts and deletes land between its chunks: the replay is the map', async () => {
    const dir = await tempDir();
    const path = join(dir, 'j.log');
    const j = await Journal.open({ path });
    const expected = new Map<string, unknown>();
    const put = (key: string, value: unknown): void => {
      j.put(key, value);
      expected.set(key, value);
    };
    // ~1.2 MB of live records: about 20 of the compaction's 64 KiB chunks.
    for (let i = 0; i < 4_000; i++) put(`k${i}`, { i, pad: 'p'.repeat(280) });
    const compaction = j.compact();
    let turns = 0;
    for (let i = 0; j.stats().compacting; i++) {
      // Every kind of change while the snapshot is being written: a new key, an overwrite of a key written
      // already or not yet, a delete of either.
      put(`new${i}`, { i });
      put(`k${(i * 37) % 4_000}`, { i, again: true });
      const gone = `k${(i * 53 + 11) % 4_000}`;
      j.delete(gone);
      expected.delete(gone);
      turns++;
      await new Promise((r) => setImmediate(r));
    }
    await compaction;
    // The snapshot took several turns of the loop, so the changes above did land between its chunks.
    expect(turns).toBeGreaterThan(3);
    expect(j.stats().compactions).toBe(1);
    expect(new Map(j.entries())).toEqual(expected);
    // The file is the snapshot plus one record per key changed meanwhile, and the journal knows its size.
    expect(j.stats().fileBytes).toBe((await stat(path)).size);
    await j.close();
    const again = await open(path);
    expect(again.openReport?.corrupt).toEqual([]);
    expect(again.openReport?.tornTail).toBeUndefined();
    expect(new Map(again.entries())).toEqual(expected);
  });

  it('removes a temp file left by a compaction cut short', async () => {
    const dir = await tempDir();
    const path = join(dir, 'j.log');
    await writeFile(`${path}.tmp`, 'half a compaction');
    const j = await open(path);
    expect(j.size).toBe(0);
    expect(await readdir(dir)).toEqual(['j.log']);
  });

  it('refuses a value JSON cannot carry; a write after close is dropped and logged, never thrown', async () => {
    const path = join(await tempDir(), 'j.log');
    const errors: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_f: object, msg: string) => errors.push(msg) };
    const j = await Journal.open({ path, log });
    expect(() => j.put('a', undefined)).toThrow(TypeError);
    await j.close();
    await j.close();
    j.put('late', 1);
    j.put('later', 2);
    expect(errors).toEqual(['journal write after close: dropped']);
    const again = await open(path);
    expect(again.has('late')).toBe(false);
  });

  it('kill -9 of a writing process (compacting often) loses no put that had returned', async () => {
    const seed = Number(process.env['GUESTHB_FAULT_SEED'] ?? Date.now() % 100_000);
    let rnd = seed;
    const random = (): number => ((rnd = (rnd * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    console.log(`journal kill -9 seed=${seed}`);
    const dir = await tempDir();
    for (let trial = 0; trial < 4; trial++) {
      const path = join(dir, `t${trial}.log`);
      const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/journal-writer.mjs'), path, '20000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      const exited = new Promise((r) => child.once('exit', r));
      // Start counting once it writes (Node's start-up under load can take longer than the whole window).
      await new Promise((r) => child.stdout.once('data', r));
      await new Promise((r) => setTimeout(r, random() * 400));
      child.kill('SIGKILL');
      await exited;
      const acked = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      const last = new Map<number, number>();
      for (const i of acked) last.set(i % 50, i);
      expect(acked.length, `trial ${trial} (seed ${seed})`).toBeGreaterThan(0);
      const j = await Journal.open({ path, compactAtBytes: 20_000 });
      for (const [key, i] of last) {
        const value = j.get(`k${key}`) as { i: number } | undefined;
        expect(value?.i, `trial ${trial} key k${key} (seed ${seed})`).toBeGreaterThanOrEqual(i);
        expect((value?.i ?? 0) % 50).toBe(key);
      }
      await j.close();
    }
  }, 30_000);
});
