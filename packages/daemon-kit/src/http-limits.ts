/**
 * Bounds on an HTTP listener (issue 11 item 3): a maximum number of connections, a per-remote-address
 * maximum, header/request/keep-alive/idle timeouts, and a descriptor reserve. An idle-connection flood
 * (1 100 idle TCP connections at nofile 1024) used to exhaust the process's descriptors, so channel
 * connects, directory listing and event posting failed with EMFILE; Node dropped the idle sockets only
 * after 60–90 s. Now excess connections are closed at accept, idle ones after `idleTimeoutMs`, and the
 * connections of all listeners together stay well below the soft descriptor limit.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  /** Open connections at once (further ones are closed at accept). Capped by the descriptor reserve. */
  readonly maxConnections: number;
  /** Open connections from one remote address. */
  readonly maxConnectionsPerAddress: number;
  /** Time to receive the request headers, from the connection's first byte. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request. */
  readonly requestTimeoutMs: number;
  /** Idle time after a response before a kept-alive connection is closed. */
  readonly keepAliveTimeoutMs: number;
  /** Inactivity of a socket (no bytes either way, including a connection that never sends) before it is closed. */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 256,
  maxConnectionsPerAddress: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
});

/** Share of the soft descriptor limit that all HTTP listeners of a process may use together. */
const HTTP_SHARE_OF_DESCRIPTORS = 1 / 4;

/** The soft and hard RLIMIT_NOFILE of this process (/proc/self/limits), or undefined where unreadable. */
export function descriptorLimits(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): { readonly soft: number; readonly hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(read());
    if (m === null) return undefined;
    const value = (s: string | undefined): number => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
    const soft = value(m[1]);
    const hard = value(m[2]);
    return Number.isFinite(soft) && Number.isFinite(hard) ? { soft, hard } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connection cap of one of `listeners` listeners: the configured maximum, but never more than their
 * share of a quarter of the soft descriptor limit, so discovery, channels and the outbox keep the rest.
 */
export function connectionCap(maxConnections: number, listeners: number, softLimit: number | undefined): number {
  if (softLimit === undefined) return maxConnections;
  return Math.max(8, Math.min(maxConnections, Math.floor((softLimit * HTTP_SHARE_OF_DESCRIPTORS) / Math.max(1, listeners))));
}

/** What the limits refused, for a metric and a rate-limited log line. */
export type ConnectionRefusal = 'max-connections' | 'per-address';

export interface ApplyHttpLimitsOptions {
  /** How many HTTP listeners the process has (they share the descriptor reserve). */
  readonly listeners?: number;
  /** Called for each connection closed at accept. */
  readonly onRefused?: (reason: ConnectionRefusal, remoteAddress: string) => void;
  /** The soft descriptor limit; read from /proc when absent. */
  readonly softDescriptorLimit?: number;
}

/** Applies `limits` to a Node HTTP server (fastify's `app.server`) before it listens; returns the cap used. */
export function applyHttpLimits(server: Server, limits: HttpLimits = DEFAULT_HTTP_LIMITS, options: ApplyHttpLimitsOptions = {}): number {
  const cap = connectionCap(limits.maxConnections, options.listeners ?? 1, options.softDescriptorLimit ?? descriptorLimits()?.soft);
  server.maxConnections = cap;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.timeout = limits.idleTimeoutMs;
  server.on('drop', (data?: { remoteAddress?: string }) => options.onRefused?.('max-connections', data?.remoteAddress ?? 'unknown'));
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress) {
      options.onRefused?.('per-address', address);
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    // A socket that never sends anything is closed by server.timeout; every socket ends in 'close'.
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  return cap;
}
