/**
 * Connection bounds of the agent's two HTTP listeners (issue 11 item 3), through daemon-kit's
 * applyHttpLimits: the rx port (guest-servers, one small undici pool per compute host) and the VIM command
 * port (loopback only, so every connection comes from one address). Refusals are counted in
 * guest_agent_http_connections_refused_total{listener,reason} and logged a few times a minute at most.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DEFAULT_HTTP_LIMITS, LogRateLimiter, applyHttpLimits, type HttpLimits } from '@guesthb/daemon-kit';

/** The rx port: a compute host's server keeps a few connections; 32 from one address is plenty. */
export const RX_HTTP_LIMITS: HttpLimits = DEFAULT_HTTP_LIMITS;

/** The VIM port listens on loopback: the per-address bound is the listener's bound. */
export const VIM_HTTP_LIMITS: HttpLimits = Object.freeze({ ...DEFAULT_HTTP_LIMITS, maxConnectionsPerAddress: DEFAULT_HTTP_LIMITS.maxConnections });

export class ListenerGuard {
  readonly #refused: Counter<'listener' | 'reason'>;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #logLimit = new LogRateLimiter({ burst: 5, perMinute: 2, summaryPeriodMs: 60_000 });

  constructor(registry: Registry, log: Logger, now: () => number) {
    this.#refused = new Counter({
      name: 'guest_agent_http_connections_refused_total',
      help: 'Connections closed at accept by a listener limit (max-connections, per-address)',
      labelNames: ['listener', 'reason'],
      registers: [registry],
    });
    this.#log = log;
    this.#now = now;
  }

  /** Bounds `server` (before it listens); `listeners` = how many listeners share the descriptor reserve. */
  apply(server: Server, listener: 'rx' | 'vim', limits: HttpLimits, listeners = 2): number {
    return applyHttpLimits(server, limits, {
      listeners,
      onRefused: (reason, remoteAddress) => {
        this.#refused.inc({ listener, reason });
        const decision = this.#logLimit.check(this.#now());
        if (decision.summarize > 0) this.#log.warn({ suppressed: decision.summarize }, 'connection refusals not logged (rate limit)');
        if (decision.write) this.#log.warn({ listener, reason, remoteAddress }, 'connection refused: listener limit');
      },
    });
  }
}
