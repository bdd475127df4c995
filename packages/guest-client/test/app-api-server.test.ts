/**
 * The management API server (client §8) over real UNIX sockets, with a test application; timing runs on a
 * ManualClock. The last block composes it with a ClientSession: what the host sees in challenge_response
 * and action_response.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock, encodeMessage, type WireBody, type WireMessage } from '@guesthb/protocol';
import {
  AppApiServer, ClientSession, DEFAULT_CLIENT_CONFIG, GlibcRandom, encodeAppMessage,
  type EventHandlerPort, type PartyResult,
} from '../src/index.js';
import { connectApp, type TestApp } from './helpers/app-peer.js';
import { tempDir } from './helpers/temp.js';

const silent = pino({ level: process.env['DBG'] === undefined ? 'silent' : 'debug' });

async function startServer(options: { maxConnections?: number } = {}): Promise<{ server: AppApiServer; clock: ManualClock; path: string }> {
  const dir = await tempDir('gca-');
  const clock = new ManualClock();
  const random = new GlibcRandom();
  const path = join(dir, 'api.sock');
  const server = new AppApiServer({ path, clock, log: silent, nextRandom: () => random.next(), ...options });
  await server.start();
  onTestFinished(() => server.close());
  return { server, clock, path };
}

async function app(path: string): Promise<TestApp> {
  const a = await connectApp(path);
  onTestFinished(() => a.close());
  return a;
}

describe('AppApiServer: registration and heartbeat', () => {
  it('accepts an INIT with interval ≥ 400 ms and refuses a smaller one (INIT_ACK accepted=0)', async () => {
    const { server, path } = await startServer();
    const good = await app(path);
    expect(await good.register('good-app', 400)).toMatchObject({ type: 'init_ack', accepted: true, sequence: 1 });
    const bad = await app(path);
    expect(await bad.register('bad-app', 399)).toMatchObject({ accepted: false });
    expect(server.registeredNames).toEqual(['good-app']);
    expect(server.view()).toEqual({ voters: 1, health: [{ name: 'good-app', health: 'healthy', action: 'reboot', log: '' }] });
  });

  it('challenges every interval, only once the previous one was answered, and adopts each valid answer', async () => {
    const { server, clock, path } = await startServer();
    const a = await app(path);
    a.behaviour.echo = false;
    await a.register('app', 1000, { action: 'stop' });
    const challenges = (): number[] => a.received.flatMap((m) => (m.type === 'challenge' ? [m.heartbeatChallenge] : []));
    clock.advance(999);
    clock.advance(1);
    const first = await a.next('challenge');                               // t = 1 s
    clock.advance(500);
    a.send({ type: 'challenge_response', heartbeatResponse: first.heartbeatChallenge, health: 'unhealthy', correctiveAction: 'log', logMsg: 'disk full' });
    await expect.poll(() => server.view().health[0]).toMatchObject({ health: 'unhealthy', action: 'log', log: 'disk full' });
    clock.advance(500);                                                    // t = 2 s: the second challenge
    await a.waitFor(() => challenges().length === 2);
    clock.advance(1000);                                                   // t = 3 s: the second is unanswered, so none
    a.send({ type: 'challenge_response', heartbeatResponse: challenges()[1] ?? 0, health: 'healthy', correctiveAction: 'reboot', logMsg: '' });
    await expect.poll(() => server.view().health[0]).toMatchObject({ health: 'healthy', action: 'reboot' });
    expect(challenges()).toHaveLength(2);
    clock.advance(1000);                                                   // t = 4 s: answered, so the third goes out
    await a.waitFor(() => challenges().length === 3);
    expect(new Set(challenges()).size).toBe(3);
  });

  it('ignores a wrong echo; after 2 × interval without a valid one the app is unhealthy with its own action', async () => {
    const { server, clock, path } = await startServer();
    const a = await app(path);
    a.behaviour.wrongEcho = true;
    a.behaviour.health = 'unhealthy';
    a.behaviour.log = 'never adopted';
    await a.register('sleepy', 1000, { action: 'stop' });
    clock.advance(1000);
    await a.next('challenge');
    await new Promise((r) => setTimeout(r, 50));                           // the wrong echo has arrived and was ignored
    expect(server.view().health[0]).toMatchObject({ health: 'healthy', log: '' });
    clock.advance(1000);
    expect(server.view().health[0]).toEqual({ name: 'sleepy', health: 'unhealthy', action: 'stop', log: 'Application sleepy heartbeat timeout 2000 ms.' });
    // A valid echo heals it again (challenges resumed after the timeout).
    a.behaviour.wrongEcho = false;
    a.behaviour.health = 'healthy';
    a.behaviour.log = 'back';
    const from = a.received.length;
    clock.advance(1000);
    await a.next('challenge', from);
    await expect.poll(() => server.view().health[0]).toMatchObject({ health: 'healthy', log: 'back' });
  });

  it('accepts an echo of any of the last 4 challenges (a silent app is re-challenged every 2 × interval)', async () => {
    const { server, clock, path } = await startServer();
    const a = await app(path);
    a.behaviour.echo = false;
    await a.register('slow', 1000);
    clock.advance(10_000);                                                // challenges at 1, 2, 4, 6, 8 and 10 s
    const challenges = await a.waitFor(() => {
      const c = a.received.flatMap((m) => (m.type === 'challenge' ? [m.heartbeatChallenge] : []));
      return c.length >= 6 ? c : undefined;
    });
    expect(server.view().health[0]).toMatchObject({ health: 'unhealthy', log: 'Application slow heartbeat timeout 2000 ms.' });
    const echo = (value: number, logMsg: string): Buffer => encodeAppMessage({ type: 'challenge_response', heartbeatResponse: value, health: 'healthy', correctiveAction: 'reboot', logMsg });
    // One write: the fourth newest is adopted, the fifth newest (processed after it) is not.
    a.socket.write(Buffer.concat([echo(challenges.at(-4) ?? 0, 'fourth newest'), echo(challenges.at(-5) ?? 0, 'too old')]));
    await expect.poll(() => server.view().health[0]).toMatchObject({ health: 'healthy', log: 'fourth newest' });
    await new Promise((r) => setTimeout(r, 30));
    expect(server.view().health[0]).toMatchObject({ log: 'fourth newest' });
  });

  it('FINAL deregisters but keeps the socket open; closing drops the app', async () => {
    const { server, clock, path } = await startServer();
    const a = await app(path);
    await a.register('leaver');
    a.send({ type: 'final', logMsg: 'bye' });
    await expect.poll(() => server.registeredNames).toEqual([]);
    expect(server.connectionCount).toBe(1);
    expect(a.closed).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    expect((await a.register('leaver-again')).accepted).toBe(true);
    await a.close();
    await expect.poll(() => server.connectionCount).toBe(0);
    expect(server.view()).toEqual({ voters: 0, health: [] });
    expect(clock.pendingTimers).toBe(0);
  });

  it('survives garbage and messages of the wrong direction', async () => {
    const { server, path } = await startServer();
    const a = await app(path);
    a.socket.write('FDFDA5A5 not a header at all, just noise');
    a.send({ type: 'challenge', heartbeatChallenge: 1 });
    expect((await a.register('robust')).accepted).toBe(true);
    expect(server.registeredNames).toEqual(['robust']);
  });
});

describe('AppApiServer: socket file and capacity', () => {
  it('removes a stale socket file before binding and its own on close', async () => {
    const dir = await tempDir('gca-');
    const path = join(dir, 'api.sock');
    await writeFile(path, 'stale');
    const server = new AppApiServer({ path, clock: new ManualClock(), log: silent, nextRandom: () => 1 });
    await server.start();
    const a = await connectApp(path);
    expect((await a.register('x')).accepted).toBe(true);
    await server.close();
    await a.waitFor(() => a.closed);
    expect(existsSync(path)).toBe(false);
    await server.close();                                                 // idempotent
  });

  it('fails to start with GC_ERR_APP_API_FAILED when the path cannot be bound, and removes nothing on close', async () => {
    const dir = await tempDir('gca-');
    const server = new AppApiServer({ path: join(dir, 'missing', 'api.sock'), clock: new ManualClock(), log: silent, nextRandom: () => 1 });
    await expect(server.start()).rejects.toMatchObject({ code: 'GC_ERR_APP_API_FAILED' });
    await server.close();
  });

  it('serves 16 connections: a newcomer evicts one that has not registered, or is refused when all have', async () => {
    const { server, path } = await startServer();
    const apps: TestApp[] = [];
    for (let i = 0; i < 16; i++) apps.push(await app(path));
    await expect.poll(() => server.connectionCount).toBe(16);
    for (const [i, a] of apps.entries()) if (i > 0) await a.register(`app-${i}`);
    const newcomer = await app(path);
    await (apps[0] as TestApp).waitFor(() => apps[0]?.closed);             // the unregistered one made room
    expect(server.connectionCount).toBe(16);
    expect((await newcomer.register('app-new')).accepted).toBe(true);
    const refused = await app(path);
    await refused.waitFor(() => refused.closed);
    expect(server.registeredNames).toHaveLength(16);
    expect(apps.slice(1).every((a) => !a.closed)).toBe(true);
  });
});

/** A session in `enabled` with the server as its apps port; what it sends to the host is in `sent`. */
async function enabledSession(server: AppApiServer, clock: ManualClock, eventHandler?: EventHandlerPort): Promise<{ session: ClientSession; sent: WireMessage[]; host: (body: Omit<WireBody, 'sequence'>) => void }> {
  const sent: WireMessage[] = [];
  const session = new ClientSession({
    policy: { name: 'vm', config: DEFAULT_CLIENT_CONFIG, hasHealthCheck: false, hasEventHandler: eventHandler !== undefined, nextInvocationId: () => 77 },
    clock, log: silent, channel: { send: (m) => sent.push(m) }, apps: server, ...(eventHandler === undefined ? {} : { eventHandler }),
  });
  onTestFinished(() => session.close());
  const host = (body: Omit<WireBody, 'sequence'>): void => session.receive(encodeMessage({ ...body, sequence: 1 } as WireBody));
  session.start();
  session.channelUp();
  host({ msg_type: 'init_ack', invocation_id: 77 } as Omit<WireBody, 'sequence'>);
  expect(session.state).toBe('enabled');
  return { session, sent, host };
}

const lastOf = <T extends WireMessage['msg_type']>(sent: WireMessage[], type: T): Extract<WireMessage, { msg_type: T }> | undefined =>
  sent.filter((m): m is Extract<WireMessage, { msg_type: T }> => m.msg_type === type).at(-1);

describe('AppApiServer with the client session (client §5, §7)', () => {
  it('an app heartbeat timeout reaches the host as unhealthy with the app action and log', async () => {
    const { server, clock, path } = await startServer();
    const { sent, host } = await enabledSession(server, clock);
    const a = await app(path);
    a.behaviour.echo = false;
    await a.register('db', 1000, { action: 'stop' });
    host({ msg_type: 'challenge', heartbeat_challenge: 1 } as Omit<WireBody, 'sequence'>);
    expect(lastOf(sent, 'challenge_response')).toMatchObject({ heartbeat_health: 'healthy', corrective_action: 'reboot' });
    clock.advance(2000);
    host({ msg_type: 'challenge', heartbeat_challenge: 2 } as Omit<WireBody, 'sequence'>);
    expect(lastOf(sent, 'challenge_response')).toMatchObject({
      heartbeat_response: 2, heartbeat_health: 'unhealthy', corrective_action: 'stop', log_msg: 'Application db heartbeat timeout 2000 ms.',
    });
  });

  it('forwards action_notify to every app with its own id; a reject wins over the script accept', async () => {
    const { server, clock, path } = await startServer();
    const script: EventHandlerPort = { start: () => ({ outcome: Promise.resolve({ result: 'accept' as PartyResult, log: 'script ok' }), cancel: () => undefined }) };
    const { sent, host } = await enabledSession(server, clock, script);
    const yes = await app(path);
    const no = await app(path);
    no.behaviour.vote = 'reject';
    no.behaviour.voteLog = 'busy writing';
    await yes.register('yes');
    await no.register('no');
    host({ msg_type: 'action_notify', invocation_id: 5, event_type: 'stop', notification_type: 'revocable', timeout_ms: 5000 } as Omit<WireBody, 'sequence'>);
    await expect.poll(() => lastOf(sent, 'action_response')).toMatchObject({ invocation_id: 5, event_type: 'stop', vote_result: 'reject', log_msg: 'busy writing' });
    const ids = [yes, no].map((x) => x.received.find((m) => m.type === 'action_notify'));
    expect(ids[0]).toMatchObject({ eventType: 'stop', notificationType: 'revocable' });
    expect(ids[0]?.type === 'action_notify' && ids[1]?.type === 'action_notify' && ids[0].invocationId !== ids[1].invocationId).toBe(true);
  });

  it('an app that does not answer by the deadline gives the timeout text; one that leaves mid-vote does not hang it', async () => {
    const { server, clock, path } = await startServer();
    const { sent, host } = await enabledSession(server, clock);
    const mute = await app(path);
    mute.behaviour.vote = undefined;
    await mute.register('mute', 1000, { voteSecs: 60 });
    host({ msg_type: 'action_notify', invocation_id: 6, event_type: 'pause', notification_type: 'revocable', timeout_ms: 3000 } as Omit<WireBody, 'sequence'>);
    await mute.next('action_notify');
    clock.advance(2000);
    expect(lastOf(sent, 'action_response')).toMatchObject({ invocation_id: 6, vote_result: 'timeout', log_msg: 'Timeout on application and/or script action responses.' });

    const leaver = await app(path);
    leaver.behaviour.vote = undefined;
    await leaver.register('leaver');
    mute.behaviour.vote = 'accept';
    host({ msg_type: 'action_notify', invocation_id: 8, event_type: 'stop', notification_type: 'revocable', timeout_ms: 10_000 } as Omit<WireBody, 'sequence'>);
    await leaver.next('action_notify');
    await leaver.close();
    await expect.poll(() => lastOf(sent, 'action_response')).toMatchObject({ invocation_id: 8, vote_result: 'accept' });
  });

  it('an app missing its own deadline counts as timeout and does not change an accept', async () => {
    const { server, clock, path } = await startServer();
    const { sent, host } = await enabledSession(server, clock);
    const quick = await app(path);
    const slow = await app(path);
    slow.behaviour.vote = undefined;
    await quick.register('quick');
    await slow.register('slow', 1000, { noticeSecs: 2 });
    host({ msg_type: 'action_notify', invocation_id: 9, event_type: 'stop', notification_type: 'irrevocable', timeout_ms: 10_000 } as Omit<WireBody, 'sequence'>);
    await slow.next('action_notify');
    await expect.poll(() => server.view().voters).toBe(2);
    await new Promise((r) => setTimeout(r, 50));                           // quick's accept has arrived
    expect(lastOf(sent, 'action_response')).toBeUndefined();
    clock.advance(2000);                                                   // slow's shutdown notice (2 s) passes
    await expect.poll(() => lastOf(sent, 'action_response')).toMatchObject({ invocation_id: 9, vote_result: 'accept' });
  });
});
