/**
 * The command API toward guest-agent (protocol peer-api.ts), plus /healthz and /metrics. A fastify
 * instance, configured but not listening (STYLE.md R15). Bodies are validated with the protocol's zod
 * schemas; every error answers PeerErrorBody { code, message }.
 */
import { LogController, fastify, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  ActionCommandSchema, HostReportingCommandSchema, InstanceStateCommandSchema, InstanceUuidSchema, PeerPath,
  type ActionAccepted, type HostReportingCommand, type InstanceInfo, type InstanceQueryReply, type PeerErrorBody,
} from '@guesthb/protocol';
import { DEFAULT_HTTP_LIMITS, LogRateLimiter, applyHttpLimits, bearerMatches, type ConnectionRefusal, type HttpLimits } from '@guesthb/daemon-kit';
import { GuestServerError, HTTP_STATUS_OF, type GuestServerErrorCode } from './errors.js';

/** What the routes need from the server. */
export interface CommandPort {
  provisionInstance(uuid: string, reporting: boolean): InstanceInfo;
  deleteInstance(uuid: string): boolean;
  queryInstances(): InstanceQueryReply;
  setHostReporting(reporting: boolean): void;
  requestAction(uuid: string, event: ActionAccepted['event'], notificationType: 'revocable' | 'irrevocable'): ActionAccepted | undefined;
  announce(): void;
  health(): { readonly ok: boolean; readonly detail: Record<string, unknown> };
  metricsText(): Promise<{ readonly contentType: string; readonly body: string }>;
}

export interface ApiDeps {
  readonly port: CommandPort;
  readonly log: Logger;
  /** The bearer token required on /v1/*, or undefined for none. */
  readonly token: () => string | undefined;
  /** Every token accepted now (rotation); overrides `token` when given. Empty: no authentication. */
  readonly acceptedTokens?: () => readonly string[];
  /** An authenticated request reached a command route (the agent is alive and has our token). */
  readonly onCommand?: () => void;
  /** Connection bounds of the listener (DEFAULT_HTTP_LIMITS when absent). */
  readonly limits?: HttpLimits;
  /** A connection closed at accept by the limits (for a metric). */
  readonly onConnectionRefused?: (reason: ConnectionRefusal) => void;
  /** Monotonic ms, for the rate limit of the refusal log line. */
  readonly now?: () => number;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  // Request logs would be one info line per agent audit; failures are logged by the error handler.
  const app = fastify({ loggerInstance: deps.log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });
  const { port } = deps;
  // Bounded connections (issue 11 item 3): an idle-connection flood must not take the descriptors that
  // discovery, the channels and the outbox need. Refusals are counted and logged at most a few times a minute.
  const refusalLog = new LogRateLimiter({ burst: 5, perMinute: 2, summaryPeriodMs: 60_000 });
  const now = deps.now ?? ((): number => performance.now());
  applyHttpLimits(app.server, deps.limits ?? DEFAULT_HTTP_LIMITS, {
    listeners: 1,
    onRefused: (reason, remoteAddress) => {
      deps.onConnectionRefused?.(reason);
      const decision = refusalLog.check(now());
      if (decision.summarize > 0) deps.log.warn({ suppressed: decision.summarize }, 'connection refusals not logged (rate limit)');
      if (decision.write) deps.log.warn({ reason, remoteAddress }, 'connection refused: listener limit');
    },
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof GuestServerError) return sendError(reply, err.code, err.message);
    if (typeof err.statusCode === 'number' && err.statusCode < 500) {
      return sendError(reply, 'GS_ERR_BAD_REQUEST', err.message);   // JSON syntax, body too large, bad content type
    }
    deps.log.error({ err }, 'request failed');
    return sendError(reply, 'GS_ERR_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 'GS_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url}`));

  // Authentication is decided on the route the router matched, never on the raw URL: the router decodes
  // percent-escapes and absolute-form targets, so `/%761/instances` and `http://x/v1/instances` reach the
  // /v1 routes while a prefix test on req.url would wave them through (issue 11). Every route, and every
  // unmatched URL, needs the token except those declared public.
  app.addHook('onRequest', async (req) => {
    if (isPublicRoute(req)) return;
    const token = deps.token();
    const accepted = deps.acceptedTokens?.() ?? (token === undefined ? [] : [token]);
    if (!bearerMatches(req.headers.authorization, accepted)) {
      throw new GuestServerError('GS_ERR_UNAUTHORIZED', 'missing or wrong bearer token');
    }
    if (!req.is404) deps.onCommand?.();
  });

  // /healthz is for supervisors and load balancers; /metrics is for Prometheus scrapers, and carries no
  // instance identities (counters and gauges by kind or state only).
  app.get('/healthz', PUBLIC, async (_req, reply) => {
    // 503 only while not serving (starting, closing): a supervisor must not restart us for a peer's fault.
    // Serving but unable to do the job (issue 11 item 6) is 200 with status "degraded" and the reasons.
    const h = port.health();
    const reasons = (h.detail as { reasons?: readonly unknown[] }).reasons ?? [];
    const status = !h.ok ? 'unavailable' : reasons.length > 0 ? 'degraded' : 'ok';
    return reply.code(h.ok ? 200 : 503).send({ status, ...h.detail });
  });
  app.get('/metrics', PUBLIC, async (_req, reply) => {
    const m = await port.metricsText();
    return reply.type(m.contentType).send(m.body);
  });

  app.put('/v1/instances/:uuid', async (req) => {
    const uuid = uuidParam(req);
    const body = parse(InstanceStateCommandSchema, req.body);
    return port.provisionInstance(uuid, body.reporting === 'enabled');
  });
  app.delete('/v1/instances/:uuid', async (req, reply) => {
    const uuid = uuidParam(req);
    if (!port.deleteInstance(uuid)) throw notFound(uuid);
    return reply.code(204).send();
  });
  app.get(PeerPath.INSTANCES, async () => port.queryInstances());
  app.put(PeerPath.HOST, async (req): Promise<HostReportingCommand> => {
    const body = parse(HostReportingCommandSchema, req.body);
    port.setHostReporting(body.reporting === 'enabled');
    return body;
  });
  for (const [kind, notificationType] of [['vote', 'revocable'], ['notify', 'irrevocable']] as const) {
    app.post(`/v1/instances/:uuid/${kind}`, async (req, reply) => {
      const uuid = uuidParam(req);
      const body = parse(ActionCommandSchema, req.body);
      const accepted = port.requestAction(uuid, body.event, notificationType);
      if (accepted === undefined) throw notFound(uuid);
      return reply.code(202).send(accepted);
    });
  }
  app.post(PeerPath.ANNOUNCE, async (_req, reply) => {
    port.announce();
    return reply.code(202).send({ status: 'queued' });
  });
  return app;
}

function sendError(reply: FastifyReply, code: GuestServerErrorCode, message: string): FastifyReply {
  const body: PeerErrorBody = { code, message };
  return reply.code(HTTP_STATUS_OF[code] ?? 500).send(body);
}

function notFound(uuid: string): GuestServerError {
  return new GuestServerError('GS_ERR_INSTANCE_NOT_FOUND', `instance ${uuid} is not known to this server`);
}

function uuidParam(req: FastifyRequest): string {
  return parse(InstanceUuidSchema, (req.params as { uuid?: unknown }).uuid, 'uuid');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what = 'body'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? what : issue.path.join('.');
  throw new GuestServerError('GS_ERR_BAD_REQUEST', `${where}: ${issue?.message ?? 'invalid'}`);
}

/** Route options of the routes that answer without a token. */
const PUBLIC = { config: { public: true } } as const;

function isPublicRoute(req: FastifyRequest): boolean {
  return !req.is404 && (req.routeOptions.config as { public?: unknown }).public === true;
}
