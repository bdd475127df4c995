/** The optional `--http` endpoint (node:http, no framework): /healthz, /metrics, /status. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HttpDeps {
  readonly registry: Registry;
  readonly status: () => object;
  readonly healthy: () => boolean;
}

/**
 * Bounds of the endpoint, so a connection flood cannot take the descriptors the watchdog's own sockets
 * and monitor connections need: connections at once and per remote address (excess closed at accept),
 * header/request/keep-alive timeouts, and an idle timeout for connections that never send. awd keeps no
 * dependency on daemon-kit (it must stay the simplest process on the box), so these few lines are its own.
 */
export interface HttpLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 64, maxConnectionsPerAddress: 16, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 30_000,
});

/** Starts listening; resolves with the server (its address has the real port when 0 was asked). */
export async function startHttpServer(deps: HttpDeps, host: string, port: number, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    void handle(deps, req, res);
  });
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Closes the server and its idle keep-alive connections. */
export async function stopHttpServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The port actually bound. */
export function httpPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}

async function handle(deps: HttpDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', { error: 'method not allowed' });
  try {
    if (path === '/healthz') {
      const ok = deps.healthy();
      return send(res, ok ? 200 : 503, 'application/json', { status: ok ? 'ok' : 'closing' });
    }
    if (path === '/metrics') return send(res, 200, deps.registry.contentType, await deps.registry.metrics());
    if (path === '/status') return send(res, 200, 'application/json', deps.status());
    return send(res, 404, 'application/json', { error: 'not found' });
  } catch (err) {
    return send(res, 500, 'application/json', { error: err instanceof Error ? err.message : String(err) });
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
