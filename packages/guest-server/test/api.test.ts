/** The command API over a real listener, with real guests on UNIX sockets and a real fake agent. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActionAcceptedSchema, InstanceInfoSchema, InstanceQueryReplySchema, PeerErrorBodySchema } from '@guesthb/protocol';
import { UUID_A, UUID_B, api, startAgent, startGuest, startServer, tempDir, until } from './helpers/harness.js';

describe('command API', () => {
  it('PUT/GET/DELETE instances; PUT host; unknown routes and bad bodies get coded errors', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url });
    const put = await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    expect(put.status).toBe(200);
    expect(InstanceInfoSchema.parse(put.body)).toMatchObject({ uuid: UUID_A, hostname: 'compute-0', reporting: 'enabled', heartbeating: 'disabled', 'repair-action': 'log', 'restart-to': '120', 'vote-to': '10' });
    const query = InstanceQueryReplySchema.parse((await api(server, 'GET', '/v1/instances')).body);
    expect(query).toMatchObject({ hostname: 'compute-0', url: server.url, bootId: server.bootId, hostReporting: 'enabled' });
    expect(query.instances.map((i) => i.uuid)).toEqual([UUID_A]);
    expect((await api(server, 'PUT', '/v1/host', { reporting: 'disabled' })).body).toEqual({ reporting: 'disabled' });
    expect(InstanceQueryReplySchema.parse((await api(server, 'GET', '/v1/instances')).body).hostReporting).toBe('disabled');
    expect((await api(server, 'DELETE', `/v1/instances/${UUID_A}`)).status).toBe(204);
    const gone = await api(server, 'DELETE', `/v1/instances/${UUID_A}`);
    expect(gone.status).toBe(404);
    expect(PeerErrorBodySchema.parse(gone.body).code).toBe('GS_ERR_INSTANCE_NOT_FOUND');
    for (const [method, path, body] of [
      ['PUT', `/v1/instances/${UUID_A}`, { reporting: 'maybe' }],
      ['PUT', '/v1/instances/short', { reporting: 'enabled' }],
      ['PUT', '/v1/host', {}],
      ['POST', `/v1/instances/${UUID_A}/vote`, { event: 'explode' }],
    ] as const) {
      const res = await api(server, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(PeerErrorBodySchema.parse(res.body).code).toBe('GS_ERR_BAD_REQUEST');
    }
    const nope = await api(server, 'GET', '/v1/nothing');
    expect(nope.status).toBe(404);
    expect(PeerErrorBodySchema.parse(nope.body).code).toBe('GS_ERR_ROUTE_NOT_FOUND');
    const vote = await api(server, 'POST', `/v1/instances/${UUID_B}/vote`, { event: 'stop' });
    expect(vote.status).toBe(404);
  });

  it('max_instances bounds the table: PUT answers 503, discovery ignores the extra channel', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const server = await startServer({ dir, agentUrl: agent.url, ini: 'max_instances = 1\n' });
    expect((await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' })).status).toBe(200);
    const full = await api(server, 'PUT', `/v1/instances/${UUID_B}`, { reporting: 'enabled' });
    expect(full.status).toBe(503);
    expect(PeerErrorBodySchema.parse(full.body).code).toBe('GS_ERR_TOO_MANY_INSTANCES');
    const extra = await startGuest(dir, UUID_B);
    const guest = await startGuest(dir, UUID_A);
    await until(() => guest.messages('init_ack').length === 1, 5000, 'A initialised');
    expect(extra.connections).toBe(0);
    expect(server.queryInstances().instances).toHaveLength(1);
  });

  it('a provisioned instance finds its channel; a vote reaches the guest and its reject comes back with the reason', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A, { secs: { vote: 7, shutdown: 5 } });
    guest.vote = (m) => ({ result: m.notification_type === 'revocable' ? 'reject' : 'complete', logMsg: 'File /tmp/vote_no_to_stop exists. ' });
    const server = await startServer({ dir, agentUrl: agent.url });
    await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    const vote = await api(server, 'POST', `/v1/instances/${UUID_A}/vote`, { event: 'stop' });
    expect(vote.status).toBe(202);
    expect(ActionAcceptedSchema.parse(vote.body)).toEqual({ uuid: UUID_A, event: 'stop', notificationType: 'revocable', timeoutMs: 7000 });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'vote-result'), 5000, 'vote result');
    expect(agent.of('vote-result')[0]).toMatchObject({ uuid: UUID_A, eventType: 'stop', notificationType: 'revocable', vote: 'reject', reason: 'File /tmp/vote_no_to_stop exists. ' });
    expect(guest.messages('action_notify')[0]).toMatchObject({ event_type: 'stop', notification_type: 'revocable', timeout_ms: 7000 });
    // Irrevocable reboot: shutdown notice; the agreed notice stops the heartbeat until the guest re-inits.
    const notify = await api(server, 'POST', `/v1/instances/${UUID_A}/notify`, { event: 'reboot' });
    expect(ActionAcceptedSchema.parse(notify.body)).toMatchObject({ notificationType: 'irrevocable', timeoutMs: 5000 });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'stopped'), 5000, 'stopped');
    expect(agent.of('vote-result')[1]).toMatchObject({ vote: 'complete', eventType: 'reboot' });
    expect(agent.of('stopped')[0]).toMatchObject({ reason: 'suspend' });
    expect(agent.of('loss')).toHaveLength(0);
    guest.sendInit();
    await agent.waitFor((ev) => ev.filter((e) => e.kind === 'running').length === 2, 5000, 'running again');
  });

  it('an unhealthy guest raises ill-health with its action; host reporting disabled withholds loss', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A);
    const server = await startServer({ dir, agentUrl: agent.url });
    await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    guest.health = 'unhealthy';
    guest.unhealthyAction = 'stop';
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'ill-health'), 5000, 'ill-health');
    expect(agent.of('ill-health')[0]).toMatchObject({ logMsg: 'test unhealthy', instance: { uuid: UUID_A, 'repair-action': 'stop' } });
    // Issue 16: the report carries its host-side corroboration (the test guest lives in this process, which
    // guest-server never takes for the VMM: unknown), with the round trips and the guest's last log_msg.
    const corroboration = agent.of('ill-health')[0]?.corroboration;
    expect(corroboration).toMatchObject({ class: 'unknown', lastLogMsg: 'test unhealthy' });
    expect(corroboration?.rounds.some((r) => r.rttMs !== null)).toBe(true);
    await api(server, 'PUT', '/v1/host', { reporting: 'disabled' });
    guest.respond = false;
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'stopped'), 5000, 'stopped');
    expect(agent.of('loss')).toHaveLength(0);
  });

  it('announce queues a new server-ready; /healthz and /metrics answer', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    await startGuest(dir, UUID_A);
    const server = await startServer({ dir, agentUrl: agent.url });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    expect((await api(server, 'POST', '/v1/announce')).status).toBe(202);
    await agent.waitFor((ev) => ev.filter((e) => e.kind === 'server-ready').length === 2, 5000, 'second server-ready');
    expect(agent.of('server-ready')[1]).toMatchObject({ url: server.url, bootId: server.bootId, hostname: 'compute-0' });
    const health = await api(server, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', instances: 1 } });
    const metrics = await api(server, 'GET', '/metrics');
    const text = String(metrics.body);
    for (const name of [
      'guest_server_instances{state="server_waiting_', 'guest_server_challenges_total', 'guest_server_responses_total', 'guest_server_misses_total',
      'guest_server_losses_total', 'guest_server_ill_health_reports_total', 'guest_server_reconnects_total', 'guest_server_outbox_depth',
      'guest_server_challenge_response_seconds_bucket', 'guest_server_loss_class_total{report="loss",class="host-starved"} 0',
      'guest_server_loss_class_total{report="ill-health",class="vmm-gone"} 0', 'guest_server_loss_deferrals_total 0',
      'guest_server_loss_deferrals_avoided_total 0',
    ]) expect(text).toContain(name);
  });

  it('re-registers when the agent acks with reannounce (agent restarted)', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    const guest = await startGuest(dir, UUID_A);
    const server = await startServer({ dir, agentUrl: agent.url });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'running'), 5000, 'running');
    agent.forgetful = true;
    guest.sendRaw('\n{"version":3,"revision":1,"msg_type":"exit","sequence":9,"log_msg":"bye"}\n');
    await agent.waitFor((ev) => ev.filter((e) => e.kind === 'server-ready').length === 2, 5000, 'second server-ready');
    expect(agent.events.map((e) => e.kind)).toEqual(['server-ready', 'running', 'stopped', 'server-ready']);
    expect(agent.of('server-ready')[1]).toMatchObject({ url: server.url, bootId: server.bootId });
  });

  it('with token_file, both directions carry the bearer token; requests without it get 401', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    agent.token = 's3cret-token';
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 's3cret-token\n');
    const server = await startServer({ dir, agentUrl: agent.url, ini: `token_file = ${tokenFile}\n` });
    await agent.waitFor((ev) => ev.some((e) => e.kind === 'server-ready'), 5000, 'server-ready');
    expect(agent.unauthorized).toBe(0);
    const denied = await api(server, 'GET', '/v1/instances');
    expect(denied.status).toBe(401);
    expect(PeerErrorBodySchema.parse(denied.body).code).toBe('GS_ERR_UNAUTHORIZED');
    expect((await api(server, 'GET', '/v1/instances', undefined, 'wrong')).status).toBe(401);
    expect((await api(server, 'GET', '/v1/instances', undefined, 's3cret-token')).status).toBe(200);
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
  });

  it('agent down: events wait, none lost, delivered in order when it returns', async () => {
    const dir = await tempDir();
    const agent = await startAgent();
    agent.down = true;
    const guest = await startGuest(dir, UUID_A);
    const server = await startServer({ dir, agentUrl: agent.url });
    await api(server, 'PUT', `/v1/instances/${UUID_A}`, { reporting: 'enabled' });
    await until(() => server.session(UUID_A)?.state.heartbeating === true, 5000, 'heartbeating');
    guest.respond = false;
    await until(() => server.session(UUID_A)?.state.heartbeating === false, 5000, 'loss detected');
    guest.respond = true;
    guest.sendInit();
    await until(() => server.session(UUID_A)?.state.heartbeating === true, 5000, 'heartbeating again');
    // running, stopped, running of the instance coalesce to the latest; the loss (an alarm) goes first (issue 12).
    expect(server.outboxDepth).toBe(3);
    await until(() => agent.requests >= 2, 5000, 'retries while down');
    agent.down = false;
    await agent.waitFor((ev) => ev.length === 3, 10_000, 'all three events');
    expect(agent.events.map((e) => e.kind)).toEqual(['loss', 'running', 'server-ready']);
    await until(() => server.outboxDepth === 0, 5000, 'outbox drained');
  });
});
