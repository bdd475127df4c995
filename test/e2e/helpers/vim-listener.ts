/**
 * A test VIM: the event listener guest-agent reports to (vim-guest-api.md §2), as a real HTTP server on
 * 127.0.0.1:0, and a client for the VIM's command calls to guest-agent (§1.2, User-Agent vim/1.0).
 * Like the real listener it sends no reply at all to service and action events (§2.1 quirk).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VimRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  /** performance.now() at receipt. */
  readonly atMs: number;
}

export interface VimInstance {
  readonly uuid: string;
  readonly hostname: string;
}

export interface VimHost {
  readonly uuid: string;
  readonly hostname: string;
}

/** One heartbeat service entry of a PATCH event (D or E). */
export interface ServiceEntry {
  readonly service?: string;
  readonly state?: string;
  readonly status?: string;
  readonly 'repair-action'?: string;
  readonly 'restart-timeout'?: string;
}

export class VimListener {
  readonly requests: VimRequest[] = [];
  readonly hosts: VimHost[] = [];
  readonly instances: VimInstance[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<VimListener> {
    const server = createServer();
    const vim = new VimListener(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void vim.#handle(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return vim;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** PATCH events about `uuid` of the given event-type, in arrival order. */
  events(uuid: string, eventType: 'service' | 'alarm' | 'action'): (VimRequest & { readonly service: ServiceEntry })[] {
    return this.requests.flatMap((r) => {
      const body = r.body as { 'event-type'?: string; 'event-data'?: { services?: ServiceEntry[] } } | undefined;
      if (r.method !== 'PATCH' || !r.url.endsWith(`/instances/${uuid}`) || body?.['event-type'] !== eventType) return [];
      return [{ ...r, service: body['event-data']?.services?.[0] ?? {} }];
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolveClose) => this.#server.close(() => resolveClose()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const url = req.url ?? '';
    this.requests.push({ method: req.method ?? '', url, body, atMs: performance.now() });
    const fields = (body ?? {}) as Record<string, unknown>;

    if (req.method === 'GET' && url.startsWith('/nfvi-plugins/v1/hosts')) {
      const host = this.hosts.find((h) => h.hostname === fields['hostname']);
      if (host === undefined) return noReply(res);
      return reply(res, { uuid: host.uuid, hostname: host.hostname, state: 'enabled' });
    }
    if (req.method === 'GET' && url.startsWith('/nfvi-plugins/v1/instances')) {
      const hostUuid = url.slice(url.lastIndexOf('=') + 1);
      const host = this.hosts.find((h) => h.uuid === hostUuid);
      if (host === undefined) return noReply(res);
      const instances = this.instances.filter((i) => i.hostname === host.hostname).map((i) => ({
        uuid: i.uuid, hostname: i.hostname, services: [{ service: 'heartbeat', state: 'enabled' }],
      }));
      return reply(res, { instances });
    }
    if (req.method === 'PATCH' && url.startsWith('/nfvi-plugins/v1/instances/')) {
      const instance = this.instances.find((i) => url.endsWith(`/${i.uuid}`));
      if (fields['event-type'] === 'alarm' && instance !== undefined) {
        return reply(res, {
          uuid: instance.uuid, hostname: instance.hostname, services: [{ service: 'heartbeat', admin_state: 'unlocked' }],
        });
      }
    }
    // Service and action events, unknown instances and every error: the real listener sends nothing.
    return noReply(res);
  }
}

function reply(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function noReply(res: ServerResponse): void {
  res.socket?.destroySoon();
}

/** The VIM's calls to guest-agent's command receiver (vim-guest-api.md §1.2). */
export class VimClient {
  readonly #base: string;

  constructor(agentVimUrl: string) {
    this.#base = agentVimUrl;
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {
      'User-Agent': 'vim/1.0', Accept: 'application/json', 'Content-Type': 'application/json', 'X-Auth-Token': 'e2e',
    };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.#base}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      // guest-agent error bodies need not be JSON (§1.1); the status is what the VIM uses.
    }
    return { status: res.status, body: parsed };
  }
}
