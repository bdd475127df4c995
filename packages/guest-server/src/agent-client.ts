/** The edge toward guest-agent: POST {agent_url}/v1/events with an EventBatch, EventAck back (protocol peer-api.ts). */
import { request, type Dispatcher } from 'undici';
import { EventAckSchema, PeerPath, type PeerEvent } from '@guesthb/protocol';
import { GuestServerError } from './errors.js';
import type { BatchAck, SendBatch } from './outbox.js';

export interface AgentClientDeps {
  readonly agentUrl: string;
  readonly dispatcher: Dispatcher;
  /** Bearer token, or undefined when none is configured. */
  readonly token: () => string | undefined;
  readonly timeoutMs: number;
}

/** A SendBatch that posts to the agent and returns its acknowledgement. */
export function createAgentClient(deps: AgentClientDeps): SendBatch {
  const url = new URL(PeerPath.EVENTS, `${deps.agentUrl}/`);
  return async (events: readonly PeerEvent[], signal?: AbortSignal): Promise<BatchAck> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = deps.token();
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const res = await request(url, {
      method: 'POST',
      body: JSON.stringify({ events }),
      headers,
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      // The outbox's send deadline (createAgentOutbox): also covers the connect and a body never read.
      ...(signal === undefined ? {} : { signal }),
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = (await res.body.text()).slice(0, 200);
      throw new GuestServerError('GS_ERR_AGENT_REJECTED', `agent answered HTTP ${res.statusCode}: ${text}`);
    }
    const parsed = EventAckSchema.safeParse(await res.body.json().catch(() => undefined));
    if (!parsed.success) throw new GuestServerError('GS_ERR_AGENT_REJECTED', 'agent acknowledgement is not an EventAck');
    return { acked: parsed.data.acked, reannounce: parsed.data.reannounce === true };
  };
}
