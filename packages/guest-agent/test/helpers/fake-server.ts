/**
 * A test guest-server: a real HTTP server on 127.0.0.1:0 implementing the server side of the peer API
 * (protocol peer-api.ts), recording every command, plus helpers to post events to the agent.
 */
import { fastify, type FastifyInstance } from 'fastify';
import { request } from 'undici';
import {
  EventAckSchema, PeerPath, type EventAck, type InstanceInfo, type PeerEvent, type ReportingState,
} from '@guesthb/protocol';

export interface ServerCommandRecord {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

type Body<K extends PeerEvent['kind']> = Omit<Extract<PeerEvent, { kind: K }>, 'id' | 'hostname' | 'atMs' | 'kind'>;

export class FakeServer {
  readonly hostname: string;
  readonly instances = new Map<string, InstanceInfo>();
  readonly commands: ServerCommandRecord[] = [];
  hostReporting: ReportingState = 'disabled';
  bootId = 'boot-1';
  /** Status to answer vote/notify with (202 normally). */
  actionStatus = 202;
  #app: FastifyInstance | undefined;
  #url = '';
  #nextId = 0;

  constructor(hostname: string) {
    this.hostname = hostname;
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    const app = fastify();
    const record = (method: string, url: string, body: unknown, authorization: string | undefined): void => {
      this.commands.push({ method, url, body, authorization });
    };
    app.addHook('onRequest', async (req) => {
      if (req.method === 'GET' || req.method === 'DELETE') record(req.method, req.url, undefined, req.headers.authorization);
    });
    app.addHook('preHandler', async (req) => {
      if (req.method !== 'GET' && req.method !== 'DELETE') record(req.method, req.url, req.body, req.headers.authorization);
    });
    app.put<{ Params: { uuid: string }; Body: { reporting: ReportingState } }>('/v1/instances/:uuid', async (req) => {
      const info = this.instances.get(req.params.uuid) ?? this.info(req.params.uuid, {});
      const next = { ...info, reporting: req.body.reporting };
      this.instances.set(req.params.uuid, next);
      return next;
    });
    app.delete<{ Params: { uuid: string } }>('/v1/instances/:uuid', async (req, reply) => {
      return reply.code(this.instances.delete(req.params.uuid) ? 204 : 404).send();
    });
    app.get('/v1/instances', async () => ({
      hostname: this.hostname, url: this.#url, bootId: this.bootId, hostReporting: this.hostReporting, instances: [...this.instances.values()],
    }));
    app.put<{ Body: { reporting: ReportingState } }>('/v1/host', async (req) => {
      this.hostReporting = req.body.reporting;
      return { reporting: this.hostReporting };
    });
    app.post<{ Params: { uuid: string; cmd: string }; Body: { event: string } }>('/v1/instances/:uuid/:cmd', async (req, reply) => {
      if (!this.instances.has(req.params.uuid)) return reply.code(404).send({ code: 'GS_ERR_NOT_FOUND', message: 'unknown' });
      const notificationType = req.params.cmd === 'vote' ? 'revocable' : 'irrevocable';
      return reply.code(this.actionStatus).send({ uuid: req.params.uuid, event: req.body.event, notificationType, timeoutMs: 10_000 });
    });
    app.post('/v1/announce', async (_req, reply) => reply.code(202).send({}));
    await app.listen({ host: '127.0.0.1', port: 0 });
    this.#app = app;
    this.#url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    await this.#app?.close();
  }

  info(uuid: string, overrides: Partial<InstanceInfo>): InstanceInfo {
    return {
      hostname: this.hostname, uuid, reporting: 'disabled', heartbeating: 'disabled', 'repair-action': 'log',
      'restart-to': '120', 'shutdown-to': '10', 'suspend-to': '10', 'resume-to': '10', 'vote-to': '10', ...overrides,
    };
  }

  event<K extends PeerEvent['kind']>(kind: K, body: Body<K>, id = `${this.bootId}-${++this.#nextId}`): PeerEvent {
    return { id, hostname: this.hostname, atMs: 1, kind, ...body } as unknown as PeerEvent;
  }

  ready(): PeerEvent {
    return this.event('server-ready', { url: this.#url, bootId: this.bootId });
  }

  /** POSTs a batch to the agent's rx listener and returns the parsed ack. */
  async post(agentRxUrl: string, events: PeerEvent[], token?: string): Promise<{ status: number; ack: EventAck | undefined; body: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const res = await request(`${agentRxUrl}${PeerPath.EVENTS}`, { method: 'POST', headers, body: JSON.stringify({ events }) });
    const body = (await res.body.json()) as unknown;
    const ack = EventAckSchema.safeParse(body);
    return { status: res.statusCode, ack: ack.success ? ack.data : undefined, body };
  }
}
