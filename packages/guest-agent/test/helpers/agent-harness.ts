/** Starts a guest-agent in-process on 127.0.0.1 port 0 for tests, and a raw HTTP client for byte-exact requests. */
import { connect } from 'node:net';
import { pino } from 'pino';
import { onTestFinished } from 'vitest';
import { ManualClock, type Clock } from '@guesthb/protocol';
import { createGuestAgent, parseAgentConfig, type GuestAgent, type GuestAgentDeps } from '../../src/index.js';

export interface AgentHandle {
  readonly agent: GuestAgent;
  readonly rxUrl: string;
  readonly vimPort: number;
  readonly clock: Clock;
}

export async function startAgent(options: {
  vimEventUrl: string;
  clock?: Clock;
  ini?: string;
  deps?: Partial<GuestAgentDeps>;
}): Promise<AgentHandle> {
  const clock = options.clock ?? new ManualClock(1_000_000);
  const config = parseAgentConfig(
    `[agent]\nrx_port = 0\nvim_cmd_port = 0\nrx_host = 127.0.0.1\nvim_event_url = ${options.vimEventUrl}\n${options.ini ?? ''}`,
    'test.ini',
  );
  const agent = createGuestAgent({
    config, log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }), clock, random: () => 0.5,
    vimTimeoutMs: 2_000, serverTimeoutMs: 2_000, ...options.deps,
  });
  onTestFinished(() => agent.close());
  const { rx, vim } = await agent.start();
  return { agent, rxUrl: `http://127.0.0.1:${rx.port}`, vimPort: vim.port, clock };
}

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends exactly these bytes and reads the reply until the server closes (Connection: close). */
export function rawRequest(port: number, bytes: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end).split('\r\n');
      const status = Number((head[0] ?? '').split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: text.slice(end + 4) });
    });
    socket.write(bytes);
  });
}

export interface VimVector {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

/** The request bytes of a recorded vector, headers in recorded order. */
export function vectorBytes(v: VimVector): string {
  const lines = [`${v.method} ${v.path} HTTP/1.1`, ...Object.entries(v.headers).map(([k, val]) => `${k}: ${val}`)];
  return `${lines.join('\r\n')}\r\n\r\n${v.body ?? ''}`;
}

/** A request of the same shape as the VIM's, with a different method/path/body/User-Agent. */
export function vimLike(method: string, path: string, body: string | undefined, userAgent: string | null = 'vim/1.0'): string {
  const headers: Record<string, string> = { Host: '127.0.0.1:2410', Accept: 'application/json', 'Content-Type': 'application/json', Connection: 'close' };
  if (userAgent !== null) headers['User-Agent'] = userAgent;
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return vectorBytes({ method, path, headers, body: body ?? null });
}
