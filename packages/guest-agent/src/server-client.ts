/** The HTTP edge toward guest-servers: the server side of the peer API (protocol peer-api.ts). */
import { request, type Dispatcher } from 'undici';
import {
  ActionAcceptedSchema, InstanceQueryReplySchema, PeerPath,
  type ActionAccepted, type EventType, type InstanceQueryReply, type ReportingState,
} from '@guesthb/protocol';
import { GuestAgentError, GuestAgentErrorCode } from './errors.js';

export interface ServerClient {
  putInstance(url: string, uuid: string, reporting: ReportingState): Promise<void>;
  /** Resolves false when the server did not know the instance (404), which is fine for a delete. */
  deleteInstance(url: string, uuid: string): Promise<boolean>;
  putHost(url: string, reporting: ReportingState): Promise<void>;
  action(url: string, uuid: string, command: 'vote' | 'notify', event: EventType): Promise<ActionAccepted>;
  query(url: string): Promise<InstanceQueryReply>;
}

export interface ServerClientDeps {
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  /** Current bearer token (re-read on SIGHUP), or undefined. */
  readonly token: () => string | undefined;
}

export function createServerClient(deps: ServerClientDeps): ServerClient {
  const call = async (url: string, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<{ statusCode: number; json: unknown }> => {
    const headers: Record<string, string> = {};
    const token = deps.token();
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (text !== undefined) headers['content-type'] = 'application/json';
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, url), {
        method, headers, dispatcher: deps.dispatcher, headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs,
        ...(text === undefined ? {} : { body: text }),
      });
    } catch (err) {
      throw new GuestAgentError(GuestAgentErrorCode.SERVER_STATUS, `${method} ${path} failed: ${(err as Error).message}`, { cause: err });
    }
    const raw = await res.body.text();
    let json: unknown;
    try {
      json = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      json = undefined;
    }
    return { statusCode: res.statusCode, json };
  };
  const expect = (res: { statusCode: number }, ok: readonly number[], what: string): void => {
    if (!ok.includes(res.statusCode)) throw new GuestAgentError(GuestAgentErrorCode.SERVER_STATUS, `${what}: server answered HTTP ${res.statusCode}`);
  };

  return {
    async putInstance(url, uuid, reporting) {
      expect(await call(url, 'PUT', PeerPath.instance(uuid), { reporting }), [200, 201, 204], 'put instance');
    },
    async deleteInstance(url, uuid) {
      const res = await call(url, 'DELETE', PeerPath.instance(uuid));
      expect(res, [200, 204, 404], 'delete instance');
      return res.statusCode !== 404;
    },
    async putHost(url, reporting) {
      expect(await call(url, 'PUT', PeerPath.HOST, { reporting }), [200, 204], 'put host');
    },
    async action(url, uuid, command, event) {
      const path = command === 'vote' ? PeerPath.vote(uuid) : PeerPath.notify(uuid);
      const res = await call(url, 'POST', path, { event });
      expect(res, [200, 202], command);
      const parsed = ActionAcceptedSchema.safeParse(res.json);
      if (!parsed.success) throw new GuestAgentError(GuestAgentErrorCode.SERVER_STATUS, `${command}: reply does not parse`);
      return parsed.data;
    },
    async query(url) {
      const res = await call(url, 'GET', PeerPath.INSTANCES);
      expect(res, [200], 'query');
      const parsed = InstanceQueryReplySchema.safeParse(res.json);
      if (!parsed.success) throw new GuestAgentError(GuestAgentErrorCode.SERVER_STATUS, `query: reply does not parse: ${parsed.error.issues[0]?.message ?? ''}`);
      return parsed.data;
    },
  };
}
