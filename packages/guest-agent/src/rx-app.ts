/**
 * The agent's rx_port listener (issue 4 item 6): POST /v1/events from guest-servers (peer API), and
 * /healthz and /metrics. Not the VIM port.
 */
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { LogRateLimiter, bearerMatches } from '@guesthb/daemon-kit';
import { EventBatchSchema, PeerPath, type EventAck, type EventBatch } from '@guesthb/protocol';
import { GuestAgentErrorCode } from './errors.js';
import type { AgentMetrics } from './metrics.js';

export interface RxAppDeps {
  readonly log: Logger;
  readonly metrics: Pick<AgentMetrics, 'registry'>;
  readonly token: () => string | undefined;
  /** Takes a validated batch, returns the ack; synchronous, so it never waits for the VIM. */
  readonly acceptEvents: (batch: EventBatch) => EventAck;
  readonly health: () => { readonly ok: boolean; readonly detail: object };
  /** Every token accepted now (rotation); overrides `token` when given. */
  readonly acceptedTokens?: () => readonly string[];
  /** Why the agent cannot do its job (a registered server unreachable or refusing the token): /healthz "degraded". */
  readonly problems?: () => readonly string[];
  /** The peer port listens beyond loopback without a token by opt-out: a /healthz warning and a gauge. */
  readonly unauthenticated?: boolean;
  /** Monotonic ms, for the recent-refusal health reason and the refusal log's rate limit. */
  readonly now?: () => number;
}

/** A refused token this recent makes /healthz degraded: a server with another token cannot register. */
const REFUSAL_HEALTH_WINDOW_MS = 60_000;

export const EVENTS_BODY_LIMIT_BYTES = 1024 * 1024;

export function buildRxApp(deps: RxAppDeps): FastifyInstance {
  const now = deps.now ?? ((): number => performance.now());
  let lastRefusal: { readonly at: number; readonly remote: string } | undefined;
  const refusalLog = new LogRateLimiter({ burst: 5, perMinute: 2, summaryPeriodMs: 60_000 });
  new Gauge({
    name: 'guest_agent_health_problems',
    help: 'Registered guest-servers unreachable or refusing our token (0 = ok; the reasons are in /healthz)',
    registers: [deps.metrics.registry],
    collect(): void {
      this.set(deps.problems?.().length ?? 0);
    },
  });
  new Gauge({
    name: 'guest_agent_unauthenticated',
    help: '1 when the rx port listens beyond loopback without a token ([agent] allow_unauthenticated = true)',
    registers: [deps.metrics.registry],
  }).set(deps.unauthenticated === true ? 1 : 0);
  const app = fastify({ loggerInstance: deps.log as FastifyBaseLogger, bodyLimit: EVENTS_BODY_LIMIT_BYTES, logController: new LogController({ disableRequestLogging: true }) });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.warn({ err: err.message, url: req.url }, 'bad request');
    return reply.code(status).send({ code: status >= 500 ? GuestAgentErrorCode.INTERNAL : GuestAgentErrorCode.BAD_EVENT_BATCH, message: err.message });
  });
  // Authentication is decided on the route the router matched (which decodes the path), never on the raw
  // URL; every route and every unmatched URL needs the token except the public ones below.
  app.addHook('onRequest', async (req, reply) => {
    if (isPublicRoute(req)) return;
    const token = deps.token();
    if (bearerMatches(req.headers.authorization, deps.acceptedTokens?.() ?? (token === undefined ? [] : [token]))) return;
    lastRefusal = { at: now(), remote: req.ip };
    const decision = refusalLog.check(now());
    if (decision.summarize > 0) req.log.warn({ suppressed: decision.summarize }, 'token refusals not logged (rate limit)');
    if (decision.write) req.log.warn({ remote: req.ip }, 'request refused: bad or missing bearer token');
    return reply.code(401).send({ code: GuestAgentErrorCode.UNAUTHORIZED, message: 'bearer token required' });
  });
  app.post(PeerPath.EVENTS, async (req, reply) => {
    const parsed = EventBatchSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      req.log.warn({ remote: req.ip, path: issue?.path, issue: issue?.message }, 'event batch refused: schema');
      return reply.code(400).send({ code: GuestAgentErrorCode.BAD_EVENT_BATCH, message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` });
    }
    return reply.code(200).send(deps.acceptEvents(parsed.data));
  });
  app.get('/healthz', PUBLIC, async (_req, reply) => {
    // 503 only while not serving: the OCF monitor must not restart the agent for a compute host's fault.
    // Serving but unable to reach a registered server (issue 11 item 6) is 200 with status "degraded".
    const health = deps.health();
    const reasons = health.ok ? [...(deps.problems?.() ?? [])] : [];
    if (lastRefusal !== undefined && now() - lastRefusal.at < REFUSAL_HEALTH_WINDOW_MS) {
      reasons.push(`refused a request with a wrong or missing token from ${lastRefusal.remote} ${Math.round((now() - lastRefusal.at) / 1000)} s ago: a server with another token file cannot register`);
    }
    const warnings = deps.unauthenticated === true ? ['peer API unauthenticated beyond loopback ([agent] allow_unauthenticated = true)'] : [];
    const status = !health.ok ? 'starting' : reasons.length > 0 ? 'degraded' : 'ok';
    return reply.code(health.ok ? 200 : 503).send({ status, reasons, warnings, ...health.detail });
  });
  app.get('/metrics', PUBLIC, async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
  return app;
}

/** Route options of the routes that answer without a token: supervisors' /healthz and Prometheus' /metrics (no instance identities). */
const PUBLIC = { config: { public: true } } as const;

function isPublicRoute(req: FastifyRequest): boolean {
  return !req.is404 && (req.routeOptions.config as { public?: unknown }).public === true;
}
