/** Component tests: the whole server in-process, real UNIX sockets in a temp dir, a real fake agent over HTTP. */
import { describe, expect, it } from 'vitest';
import { GuestServerError, HTTP_STATUS_OF } from '../src/errors.js';
import { UUID_A, UUID_B, api, startAgent, startGuest, startServer, tempDir } from './helpers/harness.js';

describe('guest-server over real sockets', () => {
  it('registers first, heartbeats a guest found at start, reports running, then loss when it goes silent', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A, { correctiveAction: 'stop' });
    const server = await startServer({ dir, agentUrl: agent.url });
    expect((await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' })).status).toBe(200);
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    expect(agent.events[0]?.kind).toBe('server-ready');
    expect(guest.messages('init_ack')).toHaveLength(1);
    guest.respond = false;
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'loss'), 5000, 'loss');
    const kinds = agent.events.map((e) => e.kind);
    expect(kinds.indexOf('stopped')).toBeLessThan(kinds.indexOf('loss'));
    expect(agent.of('loss')[0]).toMatchObject({ uuid: UUID_A, correctiveAction: 'stop', hostname: 'compute-0' });
    expect(agent.of('stopped')[0]).toMatchObject({ reason: 'loss' });
    // Issue 16: the forensics ring ends with the misses that made the loss.
    const rounds = agent.of('loss')[0]?.corroboration?.rounds ?? [];
    expect(rounds.slice(-2).map((r) => r.rttMs)).toEqual([null, null]);
    expect(rounds.some((r) => r.rttMs !== null)).toBe(true);
  });

  it('refuses new work with GS_ERR_CLOSING (HTTP 503) once shutdown has begun, and close is idempotent', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    expect((await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' })).status).toBe(200);
    const closing = server.close();
    let refused: unknown;
    try {
      server.provisionInstance(UUID_B, true);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(GuestServerError);
    expect(refused).toMatchObject({ code: 'GS_ERR_CLOSING' });
    expect(HTTP_STATUS_OF.GS_ERR_CLOSING).toBe(503);
    expect(server.close()).toBe(closing);
    await closing;
    expect(server.queryInstances().instances.map((i) => i.uuid)).not.toContain(UUID_B);
  });
});
