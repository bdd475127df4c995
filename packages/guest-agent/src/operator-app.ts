/**
 * The operator API and the /ui status page (issue 15), as a fastify plugin registered on the agent's
 * rx_port listener. Read-only: hosts, instances and a Server-Sent Events stream of their changes, from a
 * FleetSource. The JSON routes need the peer bearer token when one is configured (decided on the matched
 * route); the page's static files do not (they hold no data: the page asks for the token itself).
 */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bearerMatches } from '@guesthb/daemon-kit';
import { InstanceStateSchema, OperatorPath, type Clock, type OperatorStreamMessage } from '@guesthb/protocol';
import { GuestAgentErrorCode } from './errors.js';
import type { FleetSource } from './fleet-source.js';

export interface OperatorRoutesOptions {
  readonly fleet: FleetSource;
  readonly token: () => string | undefined;
  readonly log: Logger;
  readonly clock: Clock;
  /** Most concurrent event streams; more are refused with 503. */
  readonly maxStreams?: number;
  /** A stream whose client lags by more than this many buffered bytes is closed (bounded memory). */
  readonly maxStreamBufferBytes?: number;
  /** Period of the keep-alive comment on idle streams. */
  readonly keepAliveMs?: number;
}

/** The page's files, served from packages/guest-agent/ui/ (next to dist/): no CDN, no build step. */
const UI_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
const UI_DIR = new URL('../ui/', import.meta.url);
/** Only files of this origin: the page works offline and cannot load anything from elsewhere. */
const UI_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (app, opts) => {
  const { fleet, log } = opts;
  const files = new Map<string, Buffer>();
  try {
    for (const name of Object.keys(UI_FILES)) files.set(name, await readFile(new URL(name, UI_DIR)));
  } catch (err) {
    // A packaging mistake must not stop the agent: the API works, the page answers 503.
    log.error({ err, dir: UI_DIR.pathname }, 'status page files missing: /ui answers 503');
    files.clear();
  }

  const requireToken = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = opts.token();
    if (bearerMatches(req.headers.authorization, token === undefined ? [] : [token])) return;
    // debug: the listener's own token hook (which runs first) already logs refusals.
    req.log.debug({ remote: req.ip, route: req.routeOptions.url }, 'operator request refused: bad or missing bearer token');
    await reply.code(401).header('www-authenticate', 'Bearer').send({ code: GuestAgentErrorCode.UNAUTHORIZED, message: 'bearer token required' });
  };
  const badQuery = (reply: FastifyReply, message: string): FastifyReply =>
    reply.code(400).send({ code: GuestAgentErrorCode.INVALID_DATA, message });

  app.get(OperatorPath.HOSTS, { onRequest: requireToken }, async () => fleet.hosts());

  app.get(OperatorPath.INSTANCES, { onRequest: requireToken }, async (req, reply) => {
    const query = req.query as Record<string, string | undefined>;
    const state = query['state'] === undefined ? undefined : InstanceStateSchema.safeParse(query['state']);
    if (state !== undefined && !state.success) return badQuery(reply, `state: expected one of ${InstanceStateSchema.options.join(', ')}`);
    const limit = intParam(query['limit']);
    const offsetParam = intParam(query['offset']);
    if (limit === null || offsetParam === null) return badQuery(reply, 'limit and offset: non-negative integers');
    const offset = offsetParam ?? 0;
    const all = fleet.instances({ host: query['host'], state: state?.data });
    return { instances: all.slice(offset, limit === undefined ? undefined : offset + limit), total: all.length };
  });

  app.get(`${OperatorPath.INSTANCES}/:key`, { onRequest: requireToken }, async (req, reply) => {
    const { key } = req.params as { key: string };
    const view = fleet.instance(key);
    if (view === undefined) return reply.code(404).send({ code: GuestAgentErrorCode.NOT_FOUND, message: `no instance ${key}` });
    return view;
  });

  const streams = new Set<FastifyReply>();
  app.addHook('preClose', (done) => {
    // Streams never go idle: end them, or close() would wait for them forever.
    for (const reply of streams) reply.raw.end();
    streams.clear();
    done();
  });
  app.get(OperatorPath.EVENTS, { onRequest: requireToken }, (req, reply) => {
    if (streams.size >= (opts.maxStreams ?? 64)) {
      void reply.code(503).send({ code: GuestAgentErrorCode.INVENTORY_FULL, message: 'too many event streams' });
      return;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write('retry: 2000\n: guest-agent operator events\n\n');
    streams.add(reply);
    const maxBuffered = opts.maxStreamBufferBytes ?? 8 * 1024 * 1024;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const open = (): boolean => !raw.destroyed && !raw.writableEnded;
    const keepAlive = (): void => {
      timer = opts.clock.setTimeout(() => {
        if (!open()) return;
        raw.write(': keep-alive\n\n');
        keepAlive();
      }, opts.keepAliveMs ?? 15_000);
    };
    keepAlive();
    const unsubscribe = fleet.subscribe((message: OperatorStreamMessage) => {
      if (!open()) return; // gone; 'close' unsubscribes
      if (raw.writableLength > maxBuffered) {
        log.warn({ remote: req.ip, bufferedBytes: raw.writableLength }, 'operator event stream too slow: closed');
        raw.destroy();
        return;
      }
      raw.write(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
    });
    raw.on('error', (err) => req.log.debug({ err: err.message }, 'operator event stream error'));
    raw.on('close', () => {
      unsubscribe();
      if (timer !== undefined) opts.clock.clearTimeout(timer);
      streams.delete(reply);
    });
  });

  // The page's files are public (the listener's token hook skips routes marked so): they hold no data.
  app.get(OperatorPath.UI, PUBLIC, async (_req, reply) => reply.redirect(`${OperatorPath.UI}/`));
  app.get(`${OperatorPath.UI}/`, PUBLIC, async (_req, reply) => sendFile(reply, 'index.html'));
  app.get(`${OperatorPath.UI}/:file`, PUBLIC, async (req, reply) => {
    const { file } = req.params as { file: string };
    if (!Object.hasOwn(UI_FILES, file)) return reply.code(404).send({ code: GuestAgentErrorCode.NOT_FOUND, message: `no file ${file}` });
    return sendFile(reply, file);
  });

  function sendFile(reply: FastifyReply, name: string): FastifyReply {
    if (files.size === 0) return reply.code(503).send({ code: GuestAgentErrorCode.INTERNAL, message: `status page files missing in ${UI_DIR.pathname}` });
    return reply.type(UI_FILES[name] ?? 'application/octet-stream').header('content-security-policy', UI_CSP)
      .header('cache-control', 'no-cache').send(files.get(name));
  }
};

/** Route config read by the rx listener's token hook: no token needed. */
const PUBLIC = { config: { public: true } } as const;

/** undefined when absent, null when not a non-negative integer. */
function intParam(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  return /^\d{1,9}$/.test(text) ? Number(text) : null;
}
