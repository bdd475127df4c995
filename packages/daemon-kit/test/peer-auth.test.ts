/** Secure by default and token rotation (issue 11 item 2): pure checks, plain millisecond values. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.js';
import { TokenRing, checkPeerAuth, isLoopbackAddress } from '../src/peer-auth.js';

const base = { hostKey: '[client] bind_address', tokenKey: '[client] token_file', optOutKey: '[client] allow_unauthenticated' };

describe('checkPeerAuth', () => {
  it('loopback addresses need no token', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackAddress(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '128.0.0.1', 'controller', '::ffff:10.0.0.1']) expect(isLoopbackAddress(host), host).toBe(false);
  });

  it('beyond loopback without a token: a ConfigError naming the token key; with the opt-out: true (warn)', () => {
    expect(() => checkPeerAuth({ ...base, host: '0.0.0.0', tokenFile: undefined, allowUnauthenticated: false })).toThrow(ConfigError);
    try {
      checkPeerAuth({ ...base, host: '0.0.0.0', tokenFile: undefined, allowUnauthenticated: false });
    } catch (err) {
      expect((err as ConfigError).message).toContain('[client] token_file');
      expect((err as ConfigError).message).toContain('allow_unauthenticated');
    }
    expect(checkPeerAuth({ ...base, host: '0.0.0.0', tokenFile: undefined, allowUnauthenticated: true })).toBe(true);
    expect(checkPeerAuth({ ...base, host: '0.0.0.0', tokenFile: '/etc/mtc/guest.token', allowUnauthenticated: false })).toBe(false);
    expect(checkPeerAuth({ ...base, host: '127.0.0.1', tokenFile: undefined, allowUnauthenticated: false })).toBe(false);
  });
});

describe('TokenRing', () => {
  it('accepts every line of the file, sends the first; no file: no authentication', () => {
    const ring = new TokenRing(10_000);
    expect(ring.accepted(0)).toEqual([]);
    ring.update(['new', 'old'], 0);
    expect(ring.sendToken).toBe('new');
    expect(ring.accepted(0)).toEqual(['new', 'old']);
  });

  it('after a reload that changed the token, the previous one stays accepted for the window only', () => {
    const ring = new TokenRing(10_000);
    ring.update(['a'], 0);
    ring.update(['a'], 1_000);           // unchanged: no window
    ring.update(['b'], 2_000);
    expect(ring.sendToken).toBe('b');
    expect(ring.accepted(2_000)).toEqual(['b', 'a']);
    expect(ring.accepted(11_999)).toEqual(['b', 'a']);
    expect(ring.accepted(12_000)).toEqual(['b']);
  });
});
