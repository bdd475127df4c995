/**
 * A test VIM event listener: a real TCP server that answers like the NFV-VIM's RestAPIServer (vim §2.1):
 * HTTP/1.0 replies without Content-Length, and for service/action events, 400s and unknown instances
 * nothing at all (the connection is closed without a status line). It can also be slow or down.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

export interface VimRecord {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly json: unknown;
}

export type VimAnswer =
  | { readonly type: 'reply'; readonly status: number; readonly body?: string }
  | { readonly type: 'no-reply' }
  | { readonly type: 'hang' };

export interface FakeVimOptions {
  /** Hosts the VIM knows, by hostname: their uuid and operational state. */
  readonly hosts?: Map<string, { uuid: string; state: 'enabled' | 'disabled' }>;
  /** Instances by host uuid (B replies). */
  readonly hostInstances?: Map<string, { uuid: string; hostname: string; state: 'enabled' | 'disabled' }[]>;
}

export class FakeVim {
  readonly records: VimRecord[] = [];
  readonly hosts: Map<string, { uuid: string; state: 'enabled' | 'disabled' }>;
  readonly hostInstances: Map<string, { uuid: string; hostname: string; state: 'enabled' | 'disabled' }[]>;
  /** Overrides the VIM's behaviour for the next requests (return undefined for the default). */
  override: ((record: VimRecord) => VimAnswer | undefined) | undefined;
  /** Delay before answering, in ms (a slow VIM). */
  delayMs = 0;
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  readonly #waiters: { predicate: (r: VimRecord) => boolean; resolve: (r: VimRecord) => void }[] = [];

  constructor(options: FakeVimOptions = {}) {
    this.hosts = options.hosts ?? new Map();
    this.hostInstances = options.hostInstances ?? new Map();
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((socket) => this.#onConnection(socket));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.#port = (server.address() as { port: number }).port;
  }

  /** An outage: stop listening (connections are refused) and drop open connections. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back up on the same port. */
  async up(): Promise<void> {
    await this.start(this.#port);
  }

  async close(): Promise<void> {
    await this.down();
  }

  /** Requests whose JSON body has this event-type (PATCH events). */
  events(eventType?: string): VimRecord[] {
    return this.records.filter((r) => r.method === 'PATCH' && (eventType === undefined || (r.json as { 'event-type'?: string } | undefined)?.['event-type'] === eventType));
  }

  /** Resolves with the first recorded (or future) request matching the predicate; rejects after timeoutMs. */
  waitFor(predicate: (r: VimRecord) => boolean, timeoutMs = 10_000): Promise<VimRecord> {
    const found = this.records.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (r: VimRecord): void => { clearTimeout(timer); resolve(r); } };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`FakeVim: no matching request within ${timeoutMs} ms; saw ${this.records.map((r) => `${r.method} ${r.path} ${r.body}`).join(' | ')}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const [method = '', path = ''] = (head[0] ?? '').split(' ');
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      // The real listener reads bodies by Content-Length only (DESIGN.md §2 item 3).
      const length = Number(headers['content-length'] ?? '0');
      if (buffer.length < end + 4 + length) return;
      socket.removeAllListeners('data');
      const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      const record: VimRecord = { method, path, headers, body, json };
      this.records.push(record);
      for (const waiter of [...this.#waiters]) {
        if (waiter.predicate(record)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
      const answer = this.override?.(record) ?? this.#answer(record);
      const act = (): void => {
        if (answer.type === 'hang') return;
        if (answer.type === 'no-reply') {
          socket.end();
          return;
        }
        const reason = answer.status === 200 ? 'OK' : 'Error';
        socket.end(`HTTP/1.0 ${answer.status} ${reason}\r\nDate: Sat, 21 Nov 2026 00:00:00 GMT\r\nContent-Type: application/json\r\n\r\n${answer.body ?? ''}`);
      };
      if (this.delayMs > 0) setTimeout(act, this.delayMs);
      else act();
    });
  }

  /** The real VIM's answers (vim §2.2). */
  #answer(record: VimRecord): VimAnswer {
    const json = record.json as Record<string, unknown> | undefined;
    if (record.method === 'GET' && record.path.startsWith('/nfvi-plugins/v1/hosts')) {
      if (record.body === '') return { type: 'no-reply' }; // 204 without payload: nothing sent
      const hostname = typeof json?.['hostname'] === 'string' ? json['hostname'] : '';
      const host = this.hosts.get(hostname);
      if (host === undefined) return { type: 'no-reply' }; // 400: nothing sent
      return { type: 'reply', status: 200, body: JSON.stringify({ uuid: host.uuid, hostname, state: host.state }) };
    }
    if (record.method === 'GET' && record.path.startsWith('/nfvi-plugins/v1/instances')) {
      const hostUuid = record.path.slice(record.path.lastIndexOf('=') + 1);
      const list = this.hostInstances.get(hostUuid);
      if (list === undefined) return { type: 'no-reply' };
      const instances = list.map((i) => ({ uuid: i.uuid, hostname: i.hostname, services: [{ service: 'heartbeat', state: i.state }] }));
      return { type: 'reply', status: 200, body: JSON.stringify({ instances }) };
    }
    if (record.method === 'PATCH' && record.path.startsWith('/nfvi-plugins/v1/instances')) {
      if (json === undefined) return { type: 'no-reply' };
      if (json['event-type'] === 'alarm') {
        const body = JSON.stringify({ uuid: json['uuid'], hostname: json['hostname'], services: [{ service: 'heartbeat', admin_state: 'unlocked' }] });
        return { type: 'reply', status: 200, body };
      }
      return { type: 'no-reply' }; // service and action events: 200 without payload, nothing sent
    }
    return { type: 'no-reply' };
  }
}
