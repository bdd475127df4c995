/**
 * guestctl's HTTP side: the agent's operator API (rx_port) with the bearer token, and the agent's VIM
 * command port for vote/notify, spoken exactly as the VIM speaks it (User-Agent vim/1.0). Node's fetch only.
 */
import {
  OperatorHostListSchema, OperatorInstanceListSchema, OperatorInstanceSchema, OperatorPath, OperatorStreamMessageSchema,
  type InstanceState, type OperatorHostList, type OperatorInstance, type OperatorStreamMessage,
} from '@guesthb/protocol';
import { ExitCode, GuestctlError } from './errors.js';

export interface AgentClientOptions {
  readonly agentUrl: string;
  readonly vimUrl: string;
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

export interface AgentClient {
  hosts(): Promise<OperatorHostList>;
  instances(filter: { readonly host?: string | undefined; readonly state?: InstanceState | undefined }): Promise<OperatorInstance[]>;
  /** undefined when the agent does not know it. */
  instance(key: string): Promise<OperatorInstance | undefined>;
  /** Calls `onMessage` for each streamed change until the stream ends or `signal` aborts. */
  follow(onMessage: (m: OperatorStreamMessage) => void, signal: AbortSignal): Promise<void>;
  /** I5/I6: returns the agent's reply (`timeout` in seconds as text). */
  action(kind: 'vote' | 'notify', uuid: string, hostname: string, action: string): Promise<{ readonly status: number; readonly body: string }>;
}

export function createAgentClient(o: AgentClientOptions): AgentClient {
  const headers = (): Record<string, string> => (o.token === undefined ? {} : { authorization: `Bearer ${o.token}` });
  const request = async (path: string, signal?: AbortSignal): Promise<Response> => {
    const url = `${o.agentUrl}${path}`;
    try {
      return await fetch(url, { headers: headers(), signal: signal ?? AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      throw new GuestctlError(ExitCode.FAILED, `cannot reach the agent at ${o.agentUrl}: ${causeOf(err)}`, { cause: err });
    }
  };
  const getJson = async <T>(path: string, schema: Parser<T>): Promise<T | undefined> => {
    const res = await request(path);
    const text = await res.text();
    if (res.status === 404) return undefined;
    check(res.status, text);
    const parsed = schema.safeParse(safeJson(text));
    if (!parsed.success) throw new GuestctlError(ExitCode.FAILED, `unexpected reply from ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  };
  const must = <T>(value: T | undefined, path: string): T => {
    if (value === undefined) throw new GuestctlError(ExitCode.FAILED, `${o.agentUrl}${path}: 404 (is this a guest-agent with the operator API?)`);
    return value;
  };
  return {
    async hosts() {
      return must(await getJson(OperatorPath.HOSTS, OperatorHostListSchema), OperatorPath.HOSTS);
    },
    async instances(filter) {
      const q = new URLSearchParams();
      if (filter.host !== undefined) q.set('host', filter.host);
      if (filter.state !== undefined) q.set('state', filter.state);
      const path = `${OperatorPath.INSTANCES}${q.size > 0 ? `?${q.toString()}` : ''}`;
      return must(await getJson(path, OperatorInstanceListSchema), path).instances;
    },
    async instance(key) {
      return getJson(OperatorPath.instance(key), OperatorInstanceSchema);
    },
    async follow(onMessage, signal) {
      const res = await request(OperatorPath.EVENTS, signal);
      if (res.status !== 200 || res.body === null) check(res.status, await res.text());
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const data = buffer.slice(0, end).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            buffer = buffer.slice(end + 2);
            if (data === '') continue;
            const parsed = OperatorStreamMessageSchema.safeParse(safeJson(data));
            if (parsed.success) onMessage(parsed.data);
          }
        }
      } catch (err) {
        if (!signal.aborted) throw new GuestctlError(ExitCode.FAILED, `event stream broke: ${causeOf(err)}`, { cause: err });
      }
    },
    async action(kind, uuid, hostname, action) {
      const url = `${o.vimUrl}/v1/instances/${encodeURIComponent(uuid)}/${kind}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'vim/1.0' },
          body: JSON.stringify({ uuid, hostname, action }),
          signal: AbortSignal.timeout(o.timeoutMs),
        });
      } catch (err) {
        throw new GuestctlError(ExitCode.FAILED, `cannot reach the agent's VIM port at ${o.vimUrl}: ${causeOf(err)}`, { cause: err });
      }
      return { status: res.status, body: await res.text() };
    },
  };
}

/** The part of a zod schema guestctl uses (guestctl depends on protocol only, not on zod itself). */
interface Parser<T> {
  safeParse(data: unknown): { readonly success: true; readonly data: T } | { readonly success: false; readonly error: { readonly issues: readonly { readonly message: string }[] } };
}

function check(status: number, text: string): void {
  if (status >= 200 && status < 300) return;
  const body = safeJson(text) as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : text.slice(0, 200);
  if (status === 401) throw new GuestctlError(ExitCode.UNAUTHORIZED, `the agent refused the token (${message}): give --token-file or GUESTCTL_TOKEN_FILE`);
  throw new GuestctlError(ExitCode.FAILED, `the agent answered HTTP ${status}: ${message}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function causeOf(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; message?: string };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
