/**
 * A local stand-in for the NFV-VIM's guest event listener (vim §2): answers the agent's host-state and
 * host-instances audits, and prints every PATCH event the agent delivers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkInventory {
  readonly hostUuid: string;
  readonly hostname: string;
  readonly instances: readonly string[];
}

/** One event the agent delivered (a PATCH /nfvi-plugins/v1/instances/{uuid}). */
export interface SinkEvent {
  readonly uuid: string;
  readonly eventType: string;
  readonly body: Record<string, unknown>;
}

export interface VimSink {
  readonly url: string;
  readonly events: SinkEvent[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startVimSink(inventory: SinkInventory, onEvent: (event: SinkEvent) => void): Promise<VimSink> {
  const events: SinkEvent[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then((body) => handle(req, res, body), () => reply(res, 400, undefined));
  });
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path.startsWith('/nfvi-plugins/v1/hosts/')) {
      reply(res, 200, { uuid: inventory.hostUuid, hostname: inventory.hostname, state: 'enabled' });
      return;
    }
    if (req.method === 'GET' && path.startsWith('/nfvi-plugins/v1/instances')) {
      reply(res, 200, {
        instances: inventory.instances.map((uuid) => ({
          uuid, hostname: inventory.hostname, services: [{ service: 'heartbeat', state: 'enabled' }],
        })),
      });
      return;
    }
    if (req.method === 'PATCH' && path.startsWith('/nfvi-plugins/v1/instances/')) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        reply(res, 400, undefined);
        return;
      }
      const event: SinkEvent = { uuid: path.slice('/nfvi-plugins/v1/instances/'.length, '/nfvi-plugins/v1/instances/'.length + 36), eventType: String(parsed['event-type']), body: parsed };
      if (events.length < 10_000) events.push(event);
      onEvent(event);
      // The VIM answers an alarm with the instance's admin state (vim §2.2 E); other events with nothing useful.
      reply(res, 200, event.eventType === 'alarm'
        ? { uuid: event.uuid, hostname: inventory.hostname, services: [{ service: 'heartbeat', admin_state: 'unlocked' }] }
        : {});
      return;
    }
    reply(res, 404, undefined);
  };
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A short label of an event for the status table. */
export function eventLabel(event: SinkEvent): string {
  const data = event.body['event-data'] as { services?: Record<string, unknown>[]; action?: string; 'guest-response'?: string } | undefined;
  const service = data?.services?.[0] ?? {};
  if (event.eventType === 'alarm') return `alarm ${String(service['state'])}/${String(service['repair-action'])}`;
  if (event.eventType === 'service') return `heartbeat ${String(service['status'])}`;
  if (event.eventType === 'action') return `${String(data?.action)}: ${String(data?.['guest-response'])}`;
  return event.eventType;
}

/** A one-line description of an event for the terminal. */
export function describeEvent(event: SinkEvent): string {
  const data = event.body['event-data'] as { services?: Record<string, unknown>[]; action?: string; 'guest-response'?: string; reason?: string } | undefined;
  const service = data?.services?.[0] ?? {};
  switch (event.eventType) {
    case 'alarm':
      return `ALARM heartbeat ${String(service['state'])} (repair-action ${String(service['repair-action'])})`;
    case 'service':
      return `service heartbeat status ${String(service['status'])} (reporting ${String(service['state'])}, restart-timeout ${String(service['restart-timeout'])})`;
    case 'action':
      return `action ${String(data?.action)} → guest-response "${String(data?.['guest-response'])}" ${String(data?.reason ?? '')}`;
    default:
      return `event ${event.eventType}`;
  }
}
