/**
 * The HTTP edge toward the VIM's event listener (vim §2, daemons §5). One request per event, a new
 * connection each time (`Connection: close`, as the original), Content-Length always set (the listener
 * reads bodies by Content-Length only: DESIGN.md §2 item 3).
 */
import { errors, request, type Dispatcher } from 'undici';
import {
  AGENT_USER_AGENT, VimEventPath, VimHostInstancesReplySchema, VimHostStateReplySchema, vimHostQueryText,
  type VimHostInstancesReply, type VimServiceState,
} from '@guesthb/protocol';
import { GuestAgentError, GuestAgentErrorCode } from './errors.js';
import { vimEventRequest, type VimEvent } from './vim-events.js';

/**
 * delivered: 2xx; no-reply: the connection closed without a status line, which the real listener does
 * for every service/action event and for 400s (vim §2.1) — taken as delivered; rejected: a 4xx status
 * (permanent); retry: refused, timed out, 5xx or any other failure.
 */
export type SendOutcome = 'delivered' | 'no-reply' | 'rejected' | 'retry';

export interface VimClient {
  /** One event; `signal` aborts the request (outcome `retry`). */
  sendEvent(event: VimEvent, signal?: AbortSignal): Promise<SendOutcome>;
  /** A: the VIM's host state; throws GA_ERR_VIM_STATUS on any failure (the audit retries). */
  getHostState(hostUuid: string, hostname: string): Promise<VimServiceState>;
  /** B: the instances the VIM has on a host; throws GA_ERR_VIM_STATUS on any failure. */
  getHostInstances(hostUuid: string): Promise<VimHostInstancesReply>;
}

export interface VimClientDeps {
  readonly baseUrl: string;
  readonly dispatcher: Dispatcher;
  /** Headers and body timeout of each request (the original: 20 s). */
  readonly timeoutMs: number;
}

export function createVimClient(deps: VimClientDeps): VimClient {
  const call = async (method: Dispatcher.HttpMethod, path: string, body: string | undefined, signal?: AbortSignal): Promise<{ statusCode: number; text: string }> => {
    const headers: Record<string, string> = { 'user-agent': AGENT_USER_AGENT, 'content-type': 'application/json' };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const res = await request(`${deps.baseUrl}${path}`, {
      method, headers, reset: true, dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs,
      ...(body === undefined ? {} : { body }),
      ...(signal === undefined ? {} : { signal }),
    });
    const text = await res.body.text();
    return { statusCode: res.statusCode, text };
  };

  const query = async (path: string, body: string | undefined): Promise<unknown> => {
    let res: { statusCode: number; text: string };
    try {
      res = await call('GET', path, body);
    } catch (err) {
      throw new GuestAgentError(GuestAgentErrorCode.VIM_STATUS, `VIM query failed: ${describe(err)}`, { cause: err });
    }
    // 204 means the VIM did not read a body (daemons §5.3a): retried like any failure.
    if (res.statusCode < 200 || res.statusCode > 203) throw new GuestAgentError(GuestAgentErrorCode.VIM_STATUS, `VIM answered HTTP ${res.statusCode}`);
    try {
      return JSON.parse(res.text) as unknown;
    } catch (err) {
      throw new GuestAgentError(GuestAgentErrorCode.VIM_STATUS, 'VIM reply is not JSON', { cause: err });
    }
  };

  return {
    async sendEvent(event, signal) {
      const { path, body } = vimEventRequest(event);
      try {
        const res = await call('PATCH', path, body, signal);
        if (res.statusCode >= 200 && res.statusCode <= 204) return 'delivered';
        if (res.statusCode >= 400 && res.statusCode < 500) return 'rejected';
        return 'retry';
      } catch (err) {
        // Aborted at the outbox's deadline: not delivered, whatever the socket did meanwhile.
        if (signal?.aborted === true) return 'retry';
        return isNoReply(err) ? 'no-reply' : 'retry';
      }
    },
    async getHostState(hostUuid, hostname) {
      const json = await query(VimEventPath.host(hostUuid), vimHostQueryText(hostname, hostUuid));
      const parsed = VimHostStateReplySchema.safeParse(json);
      // A missing or odd state reads as disabled and is accepted, as the original (daemons §5.3a).
      return parsed.success && parsed.data.state === 'enabled' ? 'enabled' : 'disabled';
    },
    async getHostInstances(hostUuid) {
      const json = await query(VimEventPath.hostInstances(hostUuid), undefined);
      const parsed = VimHostInstancesReplySchema.safeParse(json);
      if (!parsed.success) throw new GuestAgentError(GuestAgentErrorCode.VIM_STATUS, `VIM instance list does not parse: ${parsed.error.issues[0]?.message ?? ''}`);
      return parsed.data;
    },
  };
}

/** The listener closed the connection before any status line (undici: "other side closed"). */
function isNoReply(err: unknown): boolean {
  return err instanceof errors.SocketError || (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'UND_ERR_SOCKET');
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) return `${String((err as { code: unknown }).code)} ${String((err as { message?: unknown }).message)}`;
  return err instanceof Error ? err.message : String(err);
}
