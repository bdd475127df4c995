import { describe, expect, it } from 'vitest';
import { bearerMatches } from '../src/index.js';

describe('bearerMatches', () => {
  it('no token configured: everything passes', () => {
    expect(bearerMatches(undefined, [])).toBe(true);
  });
  it('accepts any of the configured tokens (rotation), with a case-insensitive scheme', () => {
    expect(bearerMatches('Bearer new', ['new', 'old'])).toBe(true);
    expect(bearerMatches('Bearer old', ['new', 'old'])).toBe(true);
    expect(bearerMatches('bearer  new ', ['new'])).toBe(true);
    expect(bearerMatches('BEARER\tnew', ['new'])).toBe(true);
  });
  it('refuses a missing header, another scheme, a prefix, an extension and an empty token', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic new', 'Bearer ne', 'Bearer newer', 'new', 'Bearer new\u0000']) {
      expect(bearerMatches(header, ['new']), String(header)).toBe(false);
    }
  });
});
