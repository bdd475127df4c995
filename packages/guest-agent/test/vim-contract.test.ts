/**
 * Contract test of the VIM command receiver (vim §1): the 33 byte-exact requests the real NFV-VIM sent
 * (shared/spec/vectors/vim-requests.jsonl) replayed over a real listener, each reply checked for status
 * and exact body; then the error paths of daemons §4.1–4.2.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FakeServer } from './helpers/fake-server.js';
import { FakeVim } from './helpers/fake-vim.js';
import { rawRequest, startAgent, vectorBytes, vimLike, type VimVector } from './helpers/agent-harness.js';

// A copy of shared/spec/vectors/vim-requests.jsonl, so the test runs in a clone without shared/ beside it.
const VECTORS_PATH = fileURLToPath(new URL('./fixtures/vim-requests.jsonl', import.meta.url));
const VECTORS = readFileSync(VECTORS_PATH, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as VimVector);

const H0 = '11111111-1111-1111-1111-111111111111';
const H9 = '99999999-9999-9999-9999-999999999999';
const I3 = '33333333-3333-3333-3333-333333333333';
const I2 = '22222222-2222-2222-2222-222222222222';
const PASS = ' { "status" : "pass" }\n';
const hostDoc = (state: string): string => `{"uuid":"${H0}","hostname":"compute-0","state":"${state}"}\n`;
const servicesDoc = `{"uuid":"${I3}","hostname":"compute-0","services": [{ "service":"heartbeat","state":"enabled","restart-timeout":"0","status":"disabled"}]}\n`;
const action = (uuid: string, act: string, timeout: string): string => `{"uuid":"${uuid}","hostname":"compute-0","action":"${act}","timeout":"${timeout}"}\n`;

/** Expected [status, body] per vector, in file order (null body = check only the status). */
const EXPECTED: [number, string | null][] = [
  [200, PASS], // 1 H1 compute-0: created (no mtcAgent here)
  [200, PASS], // 2 H1 compute-9: created
  [200, PASS], // 3 H2 enable
  [200, hostDoc('enabled')], // 4 H5 (GET …/disable with a body): state, not a disable
  [200, PASS], // 5 H3 disable
  [204, ''], // 6 H4: always 204
  [200, PASS], // 7 I1 create
  [200, servicesDoc], // 8 I2 set enabled
  [200, servicesDoc], // 9 I4 query
  [200, action(I3, 'stop', '0')], // 10 I5 vote, not heartbeating → "0"
  [200, action(I2, 'stop', '7')], // 11 I5 vote → vote-to
  [200, action(I2, 'live_migrate_begin', '11')], // 12 I6 notify → suspend-to
  [200, action(I2, 'resize_begin', '11')], // 13 I6 resize_begin → suspend-to (daemons §9 item 13 fixed)
  [204, ''], // 14 I3 delete
  [404, null], // 15 I3 again: unknown
  [404, null], // 16 I4 unknown
  [200, PASS], // 17 H1 known
  [200, PASS], // 18 H3
  [200, PASS], // 19 H1 compute-9 known
  [200, PASS], // 20 H2
  [200, PASS], // 21 H2 compute-9
  [200, hostDoc('enabled')], // 22 H5
  [200, PASS], // 23 H3
  [204, ''], // 24 H4
  [200, PASS], // 25 I1
  [200, servicesDoc], // 26 I2
  [200, servicesDoc], // 27 I4
  [200, action(I2, 'stop', '7')], // 28 I5
  [200, action(I2, 'cold_migrate_begin', '11')], // 29 I6 → suspend-to
  [200, action(I2, 'cold_migrate_end', '13')], // 30 I6 → resume-to
  [204, ''], // 31 I3
  [404, null], // 32 I3 unknown
  [404, null], // 33 I4 unknown
];

async function setUp(): Promise<{ vimPort: number; server: FakeServer; vim: FakeVim; rxUrl: string }> {
  const vim = new FakeVim();
  await vim.start();
  onTestFinished(() => vim.close());
  const server = new FakeServer('compute-0');
  await server.start();
  onTestFinished(() => server.close());
  const { vimPort, rxUrl, agent } = await startAgent({ vimEventUrl: vim.url });
  // Instance 2222 is heartbeating on compute-0 with distinct notice timeouts, so each mapping is visible.
  agent.update((inv) => expect(inv.addHost(H0, 'compute-0')).toBe('created'));
  const reg = await server.post(rxUrl, [server.ready()]);
  expect(reg.ack?.acked).toHaveLength(1);
  agent.update((inv) => expect(inv.addInstance('compute-0', I2, true).ok).toBe(true));
  server.instances.set(I2, server.info(I2, { reporting: 'enabled', heartbeating: 'enabled' }));
  const info = server.info(I2, { reporting: 'enabled', heartbeating: 'enabled', 'vote-to': '7', 'suspend-to': '11', 'resume-to': '13', 'shutdown-to': '17', 'restart-to': '23' });
  await server.post(rxUrl, [server.event('running', { instance: info })]);
  await agent.whenIdle();
  server.commands.splice(0); // the state pushed at server-ready is not part of the vectors' effects
  return { vimPort, server, vim, rxUrl };
}

describe('VIM command receiver: the 33 recorded VIM requests', () => {
  it('answers each with the original status and body', async () => {
    const { vimPort, server } = await setUp();
    expect(VECTORS).toHaveLength(33);
    for (const [index, vector] of VECTORS.entries()) {
      const reply = await rawRequest(vimPort, vectorBytes(vector));
      const [status, body] = EXPECTED[index] ?? [0, null];
      expect({ index: index + 1, status: reply.status }).toEqual({ index: index + 1, status });
      if (body !== null) expect({ index: index + 1, body: reply.body }).toEqual({ index: index + 1, body });
      if (status === 404) expect(JSON.parse(reply.body)).toMatchObject({ status: 'fail', reason: 'entity not found', code: 'GA_ERR_NOT_FOUND' });
    }
    // The votes reached the server of the instance's host (heartbeating only).
    const actions = server.commands.filter((c) => c.method === 'POST' && c.url.startsWith(`/v1/instances/${I2}/`));
    expect(actions.map((c) => [c.url.split('/').at(-1), (c.body as { event: string }).event])).toEqual([
      ['vote', 'stop'], ['notify', 'live_migrate_begin'], ['notify', 'resize_begin'],
      ['vote', 'stop'], ['notify', 'cold_migrate_begin'], ['notify', 'cold_migrate_end'],
    ]);
    expect(server.commands.some((c) => c.url === `/v1/instances/${I3}/vote`)).toBe(false);
  });

  it('tells the server about host reporting and instance changes (MOD_HOST, ADD/MOD/DEL_INST)', async () => {
    const { vimPort, server } = await setUp();
    for (const vector of VECTORS.slice(0, 14)) await rawRequest(vimPort, vectorBytes(vector));
    await expect.poll(() => server.commands.filter((c) => c.method !== 'POST').map((c) => `${c.method} ${c.url} ${JSON.stringify(c.body ?? null)}`)).toEqual([
      'PUT /v1/host {"reporting":"enabled"}',
      'PUT /v1/host {"reporting":"disabled"}',
      `PUT /v1/instances/${I3} {"reporting":"disabled"}`,
      `PUT /v1/instances/${I3} {"reporting":"enabled"}`,
      `DELETE /v1/instances/${I3} null`,
    ]);
  });
});

describe('VIM command receiver: errors (daemons §4.1–4.2)', () => {
  const cases: [string, string, number, string, string][] = [
    ['wrong User-Agent', vimLike('GET', `/v1/hosts/${H0}`, undefined, 'curl/8.0'), 403, 'no buffer', 'GA_ERR_FORBIDDEN'],
    ['a longer User-Agent', vimLike('GET', `/v1/hosts/${H0}`, undefined, 'vim/1.0-extra'), 403, 'no buffer', 'GA_ERR_FORBIDDEN'],
    ['no known prefix', vimLike('GET', '/v2/things/x', undefined), 403, 'no buffer', 'GA_ERR_FORBIDDEN'],
    ['PATCH on a host', vimLike('PATCH', `/v1/hosts/${H0}`, '{"uuid":"x"}'), 400, 'unsupported http command', 'GA_ERR_UNSUPPORTED'],
    ['PUT host with an unknown command', vimLike('PUT', `/v1/hosts/${H0}/reboot`, '{"uuid":"x","hostname":"compute-0"}'), 400, 'unsupported http command', 'GA_ERR_UNSUPPORTED'],
    ['PUT host without a body', vimLike('PUT', `/v1/hosts/${H0}/enable`, ''), 411, 'no buffer', 'GA_ERR_LENGTH_REQUIRED'],
    ['PUT host without hostname', vimLike('PUT', `/v1/hosts/${H0}/enable`, '{"uuid":"x"}'), 400, 'command parse error', 'GA_ERR_PARSE'],
    ['PUT host with bad JSON', vimLike('PUT', `/v1/hosts/${H0}/enable`, '{"uuid":'), 400, 'command parse error', 'GA_ERR_PARSE'],
    ['I1 without services', vimLike('POST', `/v1/instances/${I3}`, `{"uuid":"${I3}","hostname":"compute-0"}`), 400, 'command parse error', 'GA_ERR_PARSE'],
    ['I1 on an unknown host', vimLike('POST', `/v1/instances/${I3}`, `{"uuid":"${I3}","hostname":"compute-7","services":["heartbeat"]}`), 400, 'invalid data', 'GA_ERR_INVALID_DATA'],
    ['I1 with a short uuid', vimLike('POST', '/v1/instances/abc', '{"uuid":"abc","hostname":"compute-0","services":["heartbeat"]}'), 400, 'invalid data', 'GA_ERR_INVALID_DATA'],
    ['I1 with an empty body', vimLike('POST', `/v1/instances/${I3}`, ''), 411, 'no buffer', 'GA_ERR_LENGTH_REQUIRED'],
    ['I2 with another service', vimLike('PATCH', `/v1/instances/${I3}`, `{"uuid":"${I3}","hostname":"compute-0","services":[{"service":"x","state":"enabled"}]}`), 400, 'invalid data', 'GA_ERR_INVALID_DATA'],
    ['I2 with a bad state', vimLike('PATCH', `/v1/instances/${I3}`, `{"uuid":"${I3}","hostname":"compute-0","services":[{"service":"heartbeat","state":"on"}]}`), 400, 'bad state', 'GA_ERR_BAD_STATE'],
    ['I2 on an unknown host', vimLike('PATCH', `/v1/instances/${I3}`, `{"uuid":"${I3}","hostname":"compute-7","services":[{"service":"heartbeat","state":"enabled"}]}`), 404, 'entity not found', 'GA_ERR_NOT_FOUND'],
    ['I5 without action', vimLike('POST', `/v1/instances/${I3}/vote`, `{"uuid":"${I3}","hostname":"compute-0"}`), 400, 'command parse error', 'GA_ERR_PARSE'],
    ['I5 of an unknown instance', vimLike('POST', `/v1/instances/${I3}/vote`, `{"uuid":"${I3}","hostname":"compute-0","action":"stop"}`), 404, 'entity not found', 'GA_ERR_NOT_FOUND'],
    ['H5 of an unknown host', vimLike('GET', `/v1/hosts/${H9}/disable`, undefined), 404, 'entity not found', 'GA_ERR_NOT_FOUND'],
    ['a method the original did not serve', vimLike('OPTIONS', `/v1/hosts/${H0}`, undefined), 501, 'unsupported http command', 'GA_ERR_METHOD_NOT_IMPLEMENTED'],
  ];

  it.each(cases)('%s', async (_name, bytes, status, reason, code) => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const { vimPort, agent } = await startAgent({ vimEventUrl: vim.url });
    agent.update((inv) => inv.addHost(H0, 'compute-0'));
    const reply = await rawRequest(vimPort, bytes);
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.body)).toMatchObject({ status: 'fail', reason, code });
  });

  it('accepts a request without User-Agent, and a PUT on an instance answers 200 with an empty body', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const { vimPort, agent } = await startAgent({ vimEventUrl: vim.url });
    agent.update((inv) => inv.addHost(H0, 'compute-0'));
    const reply = await rawRequest(vimPort, vimLike('GET', `/v1/hosts/${H0}`, undefined, null));
    expect(reply.status).toBe(200);
    const put = await rawRequest(vimPort, vimLike('PUT', `/v1/instances/${I3}`, '{"a":1}'));
    expect([put.status, put.body]).toEqual([200, '\n']);
  });

  it('counts requests by route and status on /metrics of the rx listener', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const { vimPort, rxUrl } = await startAgent({ vimEventUrl: vim.url });
    const first = VECTORS[0];
    if (first === undefined) throw new Error('no vectors');
    await rawRequest(vimPort, vectorBytes(first));
    const text = await (await fetch(`${rxUrl}/metrics`)).text();
    expect(text).toContain('guest_agent_vim_requests_total{route="H1",status="200"} 1');
    const health = await fetch(`${rxUrl}/healthz`);
    expect(health.status).toBe(200);
    // /metrics is not on the VIM port.
    const onVim = await rawRequest(vimPort, vimLike('GET', '/metrics', undefined));
    expect(onVim.status).toBe(403);
  });
});
