/**
 * Issue 11 item 1: the bearer token is decided on the route the router matched. Every request target an
 * attacker can write for a /v1 route (percent-encoded, absolute-form, dot segments, double slashes, case
 * variants, HEAD, OPTIONS) is refused without the token and changes nothing; only /healthz and /metrics answer.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerErrorBodySchema } from '@guesthb/protocol';
import { UUID_A, api, rawApi, startAgent, startGuest, startServer, tempDir, until } from './helpers/harness.js';

const TOKEN = 's3cret-token';

async function setUp(): Promise<{ server: Awaited<ReturnType<typeof startServer>>; guest: Awaited<ReturnType<typeof startGuest>> }> {
  const dir = await tempDir();
  const agent = await startAgent();
  agent.token = TOKEN;
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  const guest = await startGuest(dir, UUID_A);
  const server = await startServer({ dir, agentUrl: agent.url, ini: `token_file = ${tokenFile}\n` });
  expect((await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' }, TOKEN)).status).toBe(200);
  await until(() => server.session(UUID_A)?.state.heartbeating === true, 5000, 'heartbeating');
  return { server, guest };
}

const json = { 'content-type': 'application/json' };

/** Request targets that reach (or probe for) the /v1 routes without the literal prefix "/v1/". */
const ATTACKS: readonly (readonly [method: string, target: string, body?: string])[] = [
  ['GET', '/v1/instances'],
  ['GET', '/%761/instances'],
  ['GET', '/%76%31/instances'],
  ['GET', '/%76%31%2finstances'],
  ['GET', 'http://x/v1/instances'],
  ['GET', 'http://x/%761/instances'],
  ['GET', '//v1/instances'],
  ['GET', '/v1//instances'],
  ['GET', '/./v1/instances'],
  ['GET', '/v1/../v1/instances'],
  ['GET', '/V1/instances'],
  ['GET', '/v1/INSTANCES'],
  ['GET', '/v1/instances/'],
  ['GET', '/v1/instances?x=1'],
  ['GET', '/v1/instances#frag'],
  ['HEAD', '/v1/instances'],
  ['HEAD', '/%761/instances'],
  ['OPTIONS', '/v1/instances'],
  ['OPTIONS', '*'],
  ['PUT', '/%761/host', '{"reporting":"disabled"}'],
  ['PUT', 'http://x/v1/host', '{"reporting":"disabled"}'],
  ['DELETE', `/%761/instances/${UUID_A}`],
  ['DELETE', `/v1/instances/${UUID_A.replace('1', '%31')}`],
  ['POST', `/%761/instances/${UUID_A}/notify`, '{"event":"stop"}'],
  ['POST', `/v1/./instances/${UUID_A}/vote`, '{"event":"stop"}'],
  ['POST', '/%761/announce'],
];

describe('bearer token on the matched route (issue 11 item 1)', () => {
  it('refuses every encoded, absolute-form, dotted, doubled, case-varied, HEAD and OPTIONS target without the token, and nothing changes', async () => {
    const { server, guest } = await setUp();
    for (const [method, target, body] of ATTACKS) {
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ']) {
        const headers: Record<string, string> = body === undefined ? {} : { ...json };
        if (authorization !== undefined) headers['authorization'] = authorization;
        const res = await rawApi(server, method, target, headers, body);
        expect(res.status, `${method} ${target} with ${authorization ?? 'no token'}`).toBe(401);
        if (method !== 'HEAD') expect(PeerErrorBodySchema.parse(JSON.parse(res.body)).code).toBe('GS_ERR_UNAUTHORIZED');
      }
    }
    // Nothing the attacks asked for happened: reporting on, instance present, no notification at the guest.
    const query = server.queryInstances();
    expect(query.hostReporting).toBe('enabled');
    expect(query.instances.map((i) => i.uuid)).toEqual([UUID_A]);
    expect(guest.received.filter((m) => m.msg_type === 'action_notify')).toEqual([]);
  });

  it('with the token, the same decoded targets reach their routes (the router, not a prefix test, decides)', async () => {
    const { server } = await setUp();
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await rawApi(server, 'GET', '/%761/instances', auth)).status).toBe(200);
    expect((await rawApi(server, 'GET', 'http://x/v1/instances', auth)).status).toBe(200);
    expect((await rawApi(server, 'GET', '/v1/instances', { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    expect((await rawApi(server, 'GET', '/v1/nothing', auth)).status).toBe(404);
  });

  it('/healthz and /metrics answer without a token (GET and HEAD); nothing else does', async () => {
    const { server } = await setUp();
    for (const [method, target] of [['GET', '/healthz'], ['HEAD', '/healthz'], ['GET', '/metrics'], ['GET', '/%68ealthz']] as const) {
      expect((await rawApi(server, method, target)).status, `${method} ${target}`).toBe(200);
    }
    for (const target of ['/healthz/x', '/nothing', '/%2e%2e/v1/instances']) {
      expect((await rawApi(server, 'GET', target)).status, target).toBe(401);
    }
  });
});
