/** A fake guest-agent: a real HTTP server on 127.0.0.1:0 that receives POST /v1/events and acks the ids. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventBatchSchema, type PeerEvent } from '@guesthb/protocol';

export class FakeAgent {
  readonly events: PeerEvent[] = [];
  readonly seenIds = new Set<string>();
  /** Answer 503 to everything while true (agent "down"). */
  down = false;
  /** Required bearer token, if any. */
  token: string | undefined;
  requests = 0;
  /** Answer `reannounce: true` to batches without a server-ready while true (a restarted agent). */
  forgetful = false;
  unauthorized = 0;
  #server: Server | undefined;
  #waiters: (() => void)[] = [];
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.url = `http://127.0.0.1:${address.port}`;
  }

  /** Resolves when `predicate` holds over the received events, or rejects after timeoutMs. */
  async waitFor(predicate: (events: readonly PeerEvent[]) => boolean, timeoutMs = 5000, what = 'events'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map((e) => e.kind))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  of<K extends PeerEvent['kind']>(kind: K): (PeerEvent & { kind: K })[] {
    return this.events.filter((e): e is PeerEvent & { kind: K } => e.kind === kind);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      if (this.down) return reply(res, 503, { code: 'DOWN', message: 'agent down' });
      if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
        this.unauthorized++;
        return reply(res, 401, { code: 'UNAUTHORIZED', message: 'token' });
      }
      if (req.method !== 'POST' || req.url !== '/v1/events') return reply(res, 404, { code: 'NOT_FOUND', message: req.url ?? '' });
      const parsed = EventBatchSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      if (!parsed.success) return reply(res, 400, { code: 'BAD', message: parsed.error.message });
      const acked: string[] = [];
      for (const event of parsed.data.events) {
        if (!this.seenIds.has(event.id)) {
          this.seenIds.add(event.id);
          this.events.push(event);
        }
        acked.push(event.id);
      }
      const reannounce = this.forgetful && !parsed.data.events.some((e) => e.kind === 'server-ready');
      if (reannounce) this.forgetful = false;
      reply(res, 200, reannounce ? { acked, reannounce: true } : { acked });
      for (const w of this.#waiters.splice(0)) w();
    });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
