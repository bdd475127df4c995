/** The peer API token file: both daemons read it the same way (DESIGN.md §3). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readTokenFile } from '../src/index.js';

async function file(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dk-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  await writeFile(path, text);
  return path;
}

describe('readTokenFile', () => {
  it('sends the first line, trimmed, and accepts every non-empty line (rotation, issue 11)', async () => {
    expect(await readTokenFile(await file('  s3cret \r\nsecond line\n\n s3cret\n'))).toEqual({ ok: true, token: 's3cret', tokens: ['s3cret', 'second line'] });
  });

  it('fails with a reason for an empty first line or a missing file', async () => {
    expect(await readTokenFile(await file('\nlater\n'))).toMatchObject({ ok: false, reason: expect.stringContaining('is empty') });
    expect(await readTokenFile('/nonexistent/token')).toMatchObject({ ok: false, reason: expect.stringContaining('cannot read /nonexistent/token') });
  });
});
