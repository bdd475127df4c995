/**
 * Secure by default (issue 11 item 2): the peer port of a daemon listens beyond loopback only with a
 * token, unless the operator opted out explicitly; and token rotation without refusing anyone (the
 * previous token stays accepted for a window after a reload).
 */
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';

/** Whether `host` (a bind address) reaches only this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

export interface PeerAuthCheck {
  /** The listen address and the key that set it, e.g. '[client] bind_address'. */
  readonly host: string;
  readonly hostKey: string;
  readonly tokenFile: string | undefined;
  readonly tokenKey: string;
  readonly allowUnauthenticated: boolean;
  readonly optOutKey: string;
}

/**
 * Throws a ConfigError naming the token key (exit code 2) when the peer port listens beyond loopback
 * without a token and without the opt-out. Returns true when the daemon runs unauthenticated on a
 * non-loopback address by the opt-out (the caller warns in its log, /healthz and a metric).
 */
export function checkPeerAuth(c: PeerAuthCheck): boolean {
  if (c.tokenFile !== undefined || isLoopbackAddress(c.host)) return false;
  if (!c.allowUnauthenticated) {
    throw new ConfigError(c.tokenKey, `required: ${c.hostKey} is ${c.host}, not a loopback address, so the peer port would take commands from anyone; name a token file (scripts/install.sh creates /etc/mtc/guest.token), listen on 127.0.0.1, or set ${c.optOutKey} = true`);
  }
  return true;
}

/**
 * The tokens a daemon accepts: every line of its token file (the first is the one it sends), plus the
 * previous file's tokens for `windowMs` after a reload that changed them.
 */
export class TokenRing {
  readonly #windowMs: number;
  #current: readonly string[] = [];
  #previous: readonly string[] = [];
  #previousUntil = Number.NEGATIVE_INFINITY;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** The token to send, or undefined without one. */
  get sendToken(): string | undefined {
    return this.#current[0];
  }

  /** Whether a token is configured at all. */
  get enabled(): boolean {
    return this.#current.length > 0;
  }

  /** Installs the tokens read now (undefined or empty: no authentication). */
  update(tokens: readonly string[] | undefined, now: number): void {
    const next = tokens ?? [];
    if (next.join('\n') === this.#current.join('\n')) return;
    if (this.#current.length > 0) {
      this.#previous = this.#current;
      this.#previousUntil = now + this.#windowMs;
    }
    this.#current = [...next];
  }

  /** What bearerMatches should accept at `now` (empty: no authentication). */
  accepted(now: number): readonly string[] {
    if (this.#current.length === 0) return [];
    if (now >= this.#previousUntil) return this.#current;
    return [...this.#current, ...this.#previous.filter((t) => !this.#current.includes(t))];
  }
}
