/** The error registry (STYLE.md R11): every code daemon-kit raises is documented in its README. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/index.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code, and no code that does not exist', () => {
    const codes = [new ConfigError('k', 'm').code];
    for (const code of codes) expect(README).toContain(`\`${code}\``);
    expect([...new Set(README.match(/KIT_ERR_[A-Z_]+/g) ?? [])]).toEqual(codes);
  });
});
