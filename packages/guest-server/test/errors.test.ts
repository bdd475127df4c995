/** Every error code is documented in README.md, and every documented GS_ERR_* code exists (STYLE.md R11). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GuestServerError, GuestServerErrorCode } from '../src/index.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it('documents every code', () => {
    for (const code of Object.values(GuestServerErrorCode)) expect(README, code).toContain(`\`${code}\``);
  });

  it('documents no code that does not exist', () => {
    const documented = new Set(README.match(/GS_ERR_[A-Z_]+/g) ?? []);
    expect([...documented].sort()).toEqual(Object.values(GuestServerErrorCode).sort());
  });

  it('errors carry their code', () => {
    const err = new GuestServerError('GS_ERR_CLOSING', 'x');
    expect(err).toMatchObject({ name: 'GuestServerError', code: 'GS_ERR_CLOSING' });
  });
});
