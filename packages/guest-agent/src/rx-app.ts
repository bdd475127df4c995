/**
 * The agent's rx_port listener (issue 4 item 6): POST /v1/events from guest-servers (peer API), and
 * /healthz and /metrics. Not the VIM port.
 */
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bearerMatches } from '@guesthb/daemon-kit';
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
}

export const EVENTS_BODY_LIMIT_BYTES = 1024 * 1024;

export function buildRxApp(deps: RxAppDeps): FastifyInstance {
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
    if (bearerMatches(req.headers.authorization, token === undefined ? [] : [token])) return;
    req.log.warn({ remote: req.ip }, 'request refused: bad or missing bearer token');
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
    const health = deps.health();
    return reply.code(health.ok ? 200 : 503).send({ status: health.ok ? 'ok' : 'starting', ...health.detail });
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
