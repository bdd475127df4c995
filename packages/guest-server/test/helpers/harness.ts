/** Test harness: a temp channel dir, a fake agent and an in-process guest-server on 127.0.0.1:0; all cleaned up. */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { pino } from 'pino';
import { systemClock, systemRandom } from '@guesthb/daemon-kit';
import { channelFileName, type Clock } from '@guesthb/protocol';
import { buildConfig, createGuestServer, type GuestServer, type WatchChannelDir } from '../../src/index.js';
import { FakeAgent } from './fake-agent.js';
import { TestGuest, type TestGuestOptions } from './test-guest.js';

export const UUID_A = '11111111-2222-3333-4444-555555555555';
export const UUID_B = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

export function uuidOf(i: number): string {
  return `00000000-0000-0000-0000-${i.toString().padStart(12, '0')}`;
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startAgent(): Promise<FakeAgent> {
  const agent = new FakeAgent();
  await agent.start();
  onTestFinished(() => agent.close());
  return agent;
}

export async function startGuest(dir: string, uuid: string, options: Partial<TestGuestOptions> = {}, fileName = channelFileName(uuid)): Promise<TestGuest> {
  const guest = new TestGuest({ path: join(dir, fileName), intervalMs: 100, ...options });
  await guest.listen();
  onTestFinished(() => guest.close());
  return guest;
}

export interface ServerOptions {
  readonly dir: string;
  readonly agentUrl: string;
  readonly ini?: string;
  readonly watchChannelDir?: WatchChannelDir;
  /** The real clock unless given (e.g. one that records its sleeps). */
  readonly clock?: Clock;
}

export async function startServer(o: ServerOptions): Promise<GuestServer> {
  const config = buildConfig({
    iniText: `[client]\nbind_address = 127.0.0.1\nhbs_pulse_period = 50\n${o.ini ?? ''}`,
    cli: { channelDir: o.dir, agentUrl: o.agentUrl, port: 0, hostname: 'compute-0' },
    osHostname: 'unused',
  });
  const server = createGuestServer({
    config, log: pino({ level: process.env['GS_TEST_LOG'] ?? 'silent' }), clock: o.clock ?? systemClock, random: systemRandom, wallClockMs: () => Date.now(),
    ...(o.watchChannelDir === undefined ? {} : { watchChannelDir: o.watchChannelDir }),
  });
  onTestFinished(() => server.close());
  await server.start();
  return server;
}

/** Polls `predicate` every 10 ms until true or `timeoutMs` elapses (bounded wait, never a fixed sleep). */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A request to the server's command API. */
export async function api(server: GuestServer, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = text === '' ? undefined : JSON.parse(text); } catch { /* text body, e.g. /metrics */ }
  return { status: res.status, body: parsed };
}

/**
 * A request whose target is sent byte for byte (node:http does not normalise it): percent-encoded, dot
 * segments, absolute-form. `fetch` would normalise these before sending, hiding the attacks tested.
 */
export function rawApi(server: GuestServer, method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path: target, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
