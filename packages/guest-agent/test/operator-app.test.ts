/**
 * The operator routes (issue 15) on the agent's real rx listener (port 0), over a FleetSource held in
 * memory: the token per route, query validation, 404s, the page's files, and the event stream's bounds.
 */
import { request, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '@guesthb/daemon-kit';
import type { OperatorInstance, OperatorStreamMessage } from '@guesthb/protocol';
import type { FleetSource } from '../src/fleet-source.js';
import { createAgentMetrics } from '../src/metrics.js';
import { Inventory } from '../src/inventory.js';
import { operatorRoutes } from '../src/operator-app.js';
import { buildRxApp } from '../src/rx-app.js';

const TOKEN = 'op-secret';
const view = (uuid: string, state: OperatorInstance['state']): OperatorInstance => ({
  uuid, hostname: 'compute-0', name: null, reporting: true, heartbeating: true, state, correctiveAction: 'reboot',
  intervalMs: null, lastRttMs: null, misses: null, lastEvent: null,
});

class MemoryFleet implements FleetSource {
  readonly listeners = new Set<(m: OperatorStreamMessage) => void>();
  readonly rows = [view('a', 'healthy'), view('b', 'failed'), view('c', 'healthy')];
  hosts() { return { hosts: [], vimOutboxDepth: 0 }; }
  instances(filter: { host?: string | undefined; state?: string | undefined } = {}) {
    return this.rows.filter((r) => (filter.state === undefined || r.state === filter.state) && (filter.host === undefined || r.hostname === filter.host));
  }
  instance(key: string) { return this.rows.find((r) => r.uuid === key); }
  subscribe(listener: (m: OperatorStreamMessage) => void) {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
  emit(m: OperatorStreamMessage) { for (const l of this.listeners) l(m); }
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => { for (const close of closers.splice(0)) await close(); });

async function start(opts: { maxStreams?: number; maxStreamBufferBytes?: number } = {}) {
  const fleet = new MemoryFleet();
  const log = pino({ level: 'silent' });
  const app = buildRxApp({
    log, metrics: createAgentMetrics(new Inventory()), token: () => TOKEN, acceptEvents: () => ({ acked: [] }),
    health: () => ({ ok: true, detail: {} }),
  });
  await app.register(operatorRoutes, { fleet, token: () => TOKEN, log, clock: systemClock, ...opts });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return { fleet, app, base };
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe('operator routes', () => {
  it('need the token on every JSON route and the stream; the page files do not', async () => {
    const { base } = await start();
    for (const path of ['/v1/operator/hosts', '/v1/operator/instances', '/v1/operator/instances/a', '/v1/operator/events']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer wrong' } });
      expect([path, res.status]).toEqual([path, 401]);
      expect(await res.json()).toMatchObject({ code: 'GA_ERR_UNAUTHORIZED' });
    }
    for (const [path, type] of [['/ui/', 'text/html'], ['/ui/app.js', 'text/javascript'], ['/ui/style.css', 'text/css']] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
    expect((await fetch(`${base}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    for (const name of ['secret.txt', 'toString', '..%2Fpackage.json']) expect((await fetch(`${base}/ui/${name}`, { headers: auth })).status).toBe(404);
  });

  it('filters, pages, finds one, and refuses a bad query with a coded 400', async () => {
    const { base } = await start();
    const get = async (path: string) => (await fetch(`${base}${path}`, { headers: auth })).json() as Promise<Record<string, unknown>>;
    expect(await get('/v1/operator/instances?state=failed')).toEqual({ instances: [view('b', 'failed')], total: 1 });
    expect(await get('/v1/operator/instances?limit=1&offset=1')).toEqual({ instances: [view('b', 'failed')], total: 3 });
    expect(await get('/v1/operator/instances/c')).toEqual(view('c', 'healthy'));
    const missing = await fetch(`${base}/v1/operator/instances/zz`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'GA_ERR_NOT_FOUND' });
    for (const q of ['state=sad', 'limit=-1', 'offset=x']) {
      const res = await fetch(`${base}/v1/operator/instances?${q}`, { headers: auth });
      expect([q, res.status]).toEqual([q, 400]);
      expect(await res.json()).toMatchObject({ code: 'GA_ERR_INVALID_DATA' });
    }
  });

  it('streams changes as Server-Sent Events, bounds the number of streams, and ends them on close', async () => {
    const { fleet, app, base } = await start({ maxStreams: 1 });
    const res = await fetch(`${base}/v1/operator/events`, { headers: auth });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += decoder.decode(chunk.value, { stream: true });
      }
    };
    await readUntil('retry: 2000');
    fleet.emit({ type: 'instance', instance: view('b', 'healthy') });
    await readUntil('\n\n' + 'event: instance');
    await readUntil('"lastEvent":null}}\n\n');
    expect(text).toContain(`event: instance\ndata: ${JSON.stringify({ type: 'instance', instance: view('b', 'healthy') })}\n\n`);
    const second = await fetch(`${base}/v1/operator/events`, { headers: auth });
    expect(second.status).toBe(503);
    await app.close(); // must not wait for the open stream
    closers.length = 0;
    await expect(reader?.read().then(async function drain(r): Promise<boolean> { return r.done ? true : drain(await reader.read()); })).resolves.toBe(true);
    expect(fleet.listeners.size).toBe(0);
  });

  it('drops a stream whose reader stopped reading once its backlog passes the bound; a closed stream unsubscribes', async () => {
    const { fleet, base } = await start({ maxStreamBufferBytes: 64 * 1024 });
    const url = new URL(`${base}/v1/operator/events`);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: auth });
    const res = await new Promise<IncomingMessage>((resolve) => { req.on('response', resolve); req.end(); });
    res.pause(); // a reader that never reads
    await waitUntil(() => fleet.listeners.size === 1);
    const big = view('x'.repeat(36), 'healthy');
    const padded = { ...big, lastEvent: { kind: 'ill-health', detail: 'y'.repeat(4000), atMs: 0 } };
    for (let i = 0; i < 5000 && fleet.listeners.size > 0; i++) fleet.emit({ type: 'instance', instance: padded });
    await waitUntil(() => fleet.listeners.size === 0);
    res.destroy();

    const second = new AbortController();
    const open = await fetch(`${base}/v1/operator/events`, { headers: auth, signal: second.signal });
    expect(open.status).toBe(200);
    await waitUntil(() => fleet.listeners.size === 1);
    second.abort();
    await waitUntil(() => fleet.listeners.size === 0);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
