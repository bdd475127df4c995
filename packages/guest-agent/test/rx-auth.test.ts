/**
 * Issue 11 item 1 on the agent's server-facing (rx) port: the token is decided on the matched route. A loss
 * event posted to any spelling of /v1/events without the token is refused and never reaches the VIM.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { rawRequest, startAgent } from './helpers/agent-harness.js';
import { FakeServer } from './helpers/fake-server.js';
import { FakeVim } from './helpers/fake-vim.js';

const U = '22222222-2222-2222-2222-222222222222';
const TOKEN = 's3cret';

function post(port: number, target: string, body: string, authorization?: string): ReturnType<typeof rawRequest> {
  const auth = authorization === undefined ? '' : `Authorization: ${authorization}\r\n`;
  return rawRequest(port, `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${auth}Connection: close\r\n\r\n${body}`);
}

describe('rx port authentication (issue 11 item 1)', () => {
  it('refuses a loss event on every spelling of /v1/events without the right token; the VIM hears nothing', async () => {
    const vim = new FakeVim();
    await vim.start();
    onTestFinished(() => vim.close());
    const fake = new FakeServer('compute-0');
    await fake.start();
    onTestFinished(() => fake.close());
    const { agent, rxUrl } = await startAgent({ vimEventUrl: vim.url, deps: { token: TOKEN } });
    const port = Number(new URL(rxUrl).port);
    const body = JSON.stringify({ events: [fake.event('loss', { uuid: U, correctiveAction: 'reboot' })] });
    for (const target of ['/v1/events', '/%761/events', '/%76%31/events', 'http://x/v1/events', '//v1/events', '/v1/./events', '/v1/../v1/events', '/V1/events', '/v1/events/']) {
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}0`]) {
        const res = await post(port, target, body, authorization);
        expect(res.status, `${target} with ${authorization ?? 'no token'}`).toBe(401);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'GA_ERR_UNAUTHORIZED' });
      }
    }
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) {
      const res = await rawRequest(port, `${method} /%761/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res.status, method).toBe(401);
    }
    await agent.whenIdle();
    expect(vim.events('alarm')).toEqual([]);
    // The router decodes the target: with the token, the encoded spelling is the events route itself.
    const ok = await post(port, '/%761/events', JSON.stringify({ events: [fake.ready()] }), `bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect((await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).not.toBe(401);
    expect((await rawRequest(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(200);
  });
});
