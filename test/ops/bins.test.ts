/**
 * Issue 15: after `npm install && npm run build`, every bin runs through npx (the build links them into
 * node_modules/.bin, which `npm install` could not do before dist/ existed) and answers --help with a full
 * text and --version with its package version.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/demo-fleet.js';

const run = promisify(execFile);
const BINS = [
  ['guest-server', 'guest-server'], ['guest-agent', 'guest-agent'], ['guest-client', 'guest-client'], ['awd', 'awd'], ['guestctl', 'guestctl'],
] as const;

describe('npx <bin> --help / --version (issue 15)', () => {
  it.each(BINS)('%s', async (bin, dir) => {
    const help = await run('npx', ['--no-install', bin, '--help'], { cwd: REPO_ROOT });
    expect(help.stdout).toMatch(/usage:/);
    expect(help.stdout.split('\n').length).toBeGreaterThan(4); // a real help text, not a one-line synopsis
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as { version: string };
    const ver = await run('npx', ['--no-install', bin, '--version'], { cwd: REPO_ROOT });
    expect(ver.stdout).toBe(`${bin} ${version}\n`);
  }, 30_000);
});
