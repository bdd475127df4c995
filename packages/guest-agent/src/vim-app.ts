/**
 * The VIM command receiver (vim §1): a fastify app answering the 11 calls, not listening (STYLE.md R15).
 * Bodies are read as text for every method (a GET may carry one: H5) and parsed by the rules, so each
 * failure keeps the original's status. Errors answer `{"status":"fail","reason":…,"code":…,"message":…}`.
 */
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { vimErrorText, type VimErrorReason } from '@guesthb/protocol';
import { GuestAgentError, GuestAgentErrorCode } from './errors.js';
import type { AgentMetrics } from './metrics.js';
import type { VimOutcome, VimReply, VimRequest } from './vim-commands.js';

export interface VimAppDeps {
  /** Decides the request (the agent's reducer; server commands are performed by the caller). */
  readonly handle: (request: VimRequest) => Promise<VimOutcome>;
  readonly log: Logger;
  readonly metrics: Pick<AgentMetrics, 'vimRequests'>;
}

/** Largest VIM request body; the real ones are under 200 bytes. */
export const VIM_BODY_LIMIT_BYTES = 64 * 1024;

export function buildVimApp(deps: VimAppDeps): FastifyInstance {
  const app = fastify({ loggerInstance: deps.log as FastifyBaseLogger, bodyLimit: VIM_BODY_LIMIT_BYTES, logController: new LogController({ disableRequestLogging: true }) });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    done(null, body);
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'VIM request failed');
    deps.metrics.vimRequests.inc({ route: 'other', status: String(status) });
    return sendError(reply, status, status === 413 ? 'no buffer' : 'command parse error', status >= 500 ? GuestAgentErrorCode.INTERNAL : GuestAgentErrorCode.PARSE, err.message);
  });
  app.all('*', async (req, reply) => {
    const userAgent = req.headers['user-agent'];
    // fastify does not read a GET's body; H5 (and audit-like GETs) carry one, read here with the same bound.
    const body = typeof req.body === 'string' ? req.body : req.method === 'GET' ? await readGetBody(req.raw) : undefined;
    const outcome = await deps.handle({
      method: req.method,
      url: req.url,
      userAgent: typeof userAgent === 'string' ? userAgent : undefined,
      body,
    });
    deps.metrics.vimRequests.inc({ route: outcome.route, status: String(outcome.reply.status) });
    return send(reply, outcome.reply, outcome.route, req.method, req.url);
  });
  return app;
}

/**
 * The body of a GET, which fastify leaves unread (H5: `{uuid, hostname}`). Bounded by VIM_BODY_LIMIT_BYTES
 * (413, as other bodies); undefined without Content-Length/Transfer-Encoding. The whole request is bounded
 * in time by Node's requestTimeout.
 */
async function readGetBody(raw: IncomingMessage): Promise<string | undefined> {
  const length = raw.headers['content-length'];
  if (raw.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return undefined;
  const tooLarge = (): GuestAgentError => new GuestAgentError(GuestAgentErrorCode.PARSE, `request body is larger than ${VIM_BODY_LIMIT_BYTES} bytes`, { statusCode: 413 });
  if (length !== undefined && Number(length) > VIM_BODY_LIMIT_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > VIM_BODY_LIMIT_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(reply: FastifyReply, result: VimReply, route: string, method: string, url: string): FastifyReply {
  if (result.ok) {
    reply.log.info({ route, method, url, status: result.status }, 'VIM request');
    if (result.status === 204) return reply.code(204).send();
    // Success bodies end with "\n" as the original's (daemons §4.1); labelled JSON, which they are.
    return reply.code(result.status).type('application/json').send(`${result.text}\n`);
  }
  reply.log.warn({ route, method, url, status: result.status, code: result.code, reason: result.reason, detail: result.message }, 'VIM request refused');
  return sendError(reply, result.status, result.reason, result.code, result.message);
}

function sendError(reply: FastifyReply, status: number, reason: VimErrorReason, code: string, message: string): FastifyReply {
  // The original's error JSON (vimErrorText) went in the reason phrase; we send it as the body, plus our code.
  const original = JSON.parse(vimErrorText(reason)) as { status: string; reason: string };
  return reply.code(status).type('application/json').send(JSON.stringify({ ...original, code, message }));
}
