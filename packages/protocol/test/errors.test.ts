/** The error registry (STYLE.md R11): stable codes, each documented in the package README. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasErrorCode, ProtocolError, ProtocolErrorCode } from '../src/index.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('ProtocolErrorCode', () => {
  it.each(Object.values(ProtocolErrorCode).map((code) => [code] as const))('%s is documented in README.md', (code) => {
    expect(README).toContain(`\`${code}\``);
  });

  it('documents no code that no longer exists', () => {
    const documented = new Set(README.match(/PROTO_ERR_[A-Z_]+/g) ?? []);
    expect([...documented].sort()).toEqual(Object.values(ProtocolErrorCode).sort());
  });

  it('uses the PROTO_ERR_ prefix and distinct values', () => {
    const codes = Object.values(ProtocolErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^PROTO_ERR_[A-Z_]+$/);
  });
});

describe('ProtocolError', () => {
  it('carries its code, name, message and cause', () => {
    const cause = new Error('root');
    const err = new ProtocolError(ProtocolErrorCode.LINE_TOO_LONG, 'too long', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProtocolError');
    expect(err.code).toBe('PROTO_ERR_LINE_TOO_LONG');
    expect(err.message).toBe('too long');
    expect(err.cause).toBe(cause);
  });
});

describe('hasErrorCode', () => {
  it('matches on code, across copies and serialised errors', () => {
    const err = new ProtocolError('PROTO_ERR_BAD_JSON', 'x');
    expect(hasErrorCode(err, 'PROTO_ERR_BAD_JSON')).toBe(true);
    expect(hasErrorCode(JSON.parse(JSON.stringify({ code: 'PROTO_ERR_BAD_JSON' })), 'PROTO_ERR_BAD_JSON')).toBe(true);
    expect(hasErrorCode(err, 'PROTO_ERR_BAD_FIELD')).toBe(false);
    expect(hasErrorCode(null, 'PROTO_ERR_BAD_JSON')).toBe(false);
    expect(hasErrorCode('PROTO_ERR_BAD_JSON', 'PROTO_ERR_BAD_JSON')).toBe(false);
    expect(hasErrorCode({}, 'PROTO_ERR_BAD_JSON')).toBe(false);
  });
});
