/** The simulated guest against a host peer over real UNIX sockets: QEMU's side of the channel, every fault. */
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { channelFileName } from '@guesthb/protocol';
import { createSimulatedGuest, startSimulatedGuests, type SimulatedGuestOptions, type SimulatedGuest } from '../src/index.js';
import { connectHost, type HostPeer } from './helpers/host-peer.js';
import { tempDir } from './helpers/temp.js';

/** Short timings: challenge timeout 800 ms, init retry 200 ms. */
const FAST = { heartbeatIntervalMs: 400, minTimeoutMs: 0, initRetryMs: 200 } as const;

async function guest(options: Partial<SimulatedGuestOptions> = {}): Promise<{ g: SimulatedGuest; dir: string }> {
  const dir = options.dir ?? (await tempDir());
  const g = createSimulatedGuest({ dir, uuid: randomUUID(), config: FAST, ...options });
  onTestFinished(() => g.close());
  await g.start();
  return { g, dir };
}

async function host(g: SimulatedGuest): Promise<HostPeer> {
  const h = await connectHost(g.path);
  onTestFinished(() => h.close());
  return h;
}

async function until(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  await expect.poll(probe, { timeout: timeoutMs, interval: 10 }).toBe(true);
}

describe('simulated guest', () => {
  it('listens on DIR/cgcs.heartbeat.<uuid>.sock and heartbeats with the host that connects', async () => {
    const { g, dir } = await guest({ name: 'sim-1' });
    expect(g.path).toBe(join(dir, channelFileName(g.uuid)));
    expect(g.state).toBe('disabled');
    const h = await host(g);
    const init = await h.handshake();
    expect(init).toMatchObject({ sequence: 1, invocation_id: 1804289383, name: 'sim-1', heartbeat_interval_ms: 400, vote_secs: 11, corrective_action: 'reboot' });
    await until(() => g.state === 'enabled');
    const response = await h.challenge(123456);
    expect(response).toMatchObject({ heartbeat_response: 123456, heartbeat_health: 'healthy', corrective_action: 'reboot', log_msg: '' });
    expect(g.stats).toMatchObject({ connected: true, challengesSeen: 1, responsesSent: 1, missed: 0, initsSent: 1, connections: 1 });
    expect(g.stats.lastChallengeToResponseMs).toBeLessThan(100);
  });

  it('goes disabled when the host disconnects and re-inits with a new id when it comes back', async () => {
    const { g } = await guest();
    const h1 = await host(g);
    await h1.handshake();
    await until(() => g.state === 'enabled');
    await h1.close();
    await until(() => g.state === 'disabled');
    const h2 = await host(g);
    expect((await h2.handshake()).invocation_id).toBe(846930886);
    await until(() => g.state === 'enabled');
    expect((await h2.challenge(9)).heartbeat_response).toBe(9);
  });

  it('re-inits after the challenge timeout when the host stops challenging', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    await h.challenge(1);
    await h.next('init', 2, 3000);
    expect(g.state).toBe('enabling');
  });

  it('serves one host connection at a time, as QEMU does', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    const second = createConnection(g.path);
    second.on('error', () => undefined);
    await once(second, 'close');
    expect((await h.challenge(5)).heartbeat_response).toBe(5);
  });

  it('stopAnswering: reads and writes nothing and counts the missed challenges; resume re-inits', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    await h.challenge(1);
    g.stopAnswering();
    const before = h.messages.length;
    h.send({ msg_type: 'challenge', heartbeat_challenge: 2 });
    h.send({ msg_type: 'challenge', heartbeat_challenge: 3 });
    await until(() => g.stats.missed === 2);
    await until(() => g.state === 'enabling');                       // its own challenge timeout fired
    expect(h.messages.length).toBe(before);                          // the re-init went nowhere
    g.resumeAnswering();
    await h.handshake(before);
    await until(() => g.state === 'enabled');
  });

  it('answerLate: responses go out N ms after the challenge', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    g.answerLate(300);
    const started = performance.now();
    expect((await h.challenge(77)).heartbeat_response).toBe(77);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(g.stats.lastChallengeToResponseMs).toBeGreaterThanOrEqual(290);
    g.answerLate(0);
    expect((await h.challenge(78)).heartbeat_response).toBe(78);
  });

  it('wrongChallenge: echoes a different value', async () => {
    const { g } = await guest({ faults: { wrongChallenge: true } });
    const h = await host(g);
    await h.handshake();
    expect((await h.challenge(1000)).heartbeat_response).not.toBe(1000);
    g.wrongChallenge(false);
    expect((await h.challenge(1001)).heartbeat_response).toBe(1001);
  });

  it('setHealth: unhealthy with its action, then "none" while repeated, then healthy again', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    g.setHealth('unhealthy', 'stop', 'disk full');
    expect(await h.challenge(1)).toMatchObject({ heartbeat_health: 'unhealthy', corrective_action: 'stop', log_msg: 'disk full' });
    expect(await h.challenge(2)).toMatchObject({ heartbeat_health: 'unhealthy', corrective_action: 'none' });
    g.setHealth('healthy');
    expect(await h.challenge(3)).toMatchObject({ heartbeat_health: 'healthy', corrective_action: 'reboot' });
  });

  it('sendGarbage and sendOversized: the host sees a bad line and a too-long line, then normal traffic', async () => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    await until(() => g.state === 'enabled');
    g.sendGarbage();
    g.sendOversized();
    await h.waitFor(() => h.rejected.length >= 2);
    expect(h.rejected).toEqual(['PROTO_ERR_BAD_JSON', 'PROTO_ERR_LINE_TOO_LONG']);
    expect((await h.challenge(4)).heartbeat_response).toBe(4);
  });

  it('sendSplit: every message arrives in two writes and is still whole', async () => {
    const { g } = await guest({ faults: { split: true }, splitDelayMs: 30 });
    const h = await host(g);
    await h.handshake();
    const chunksBefore = h.chunks;
    expect((await h.challenge(6)).heartbeat_response).toBe(6);
    expect(h.chunks - chunksBefore).toBe(2);
    g.sendSplit(false);
  });

  it('recreateSocket: the host connection drops, the file is recreated, a new host is heartbeated', async () => {
    const { g } = await guest();
    const h1 = await host(g);
    await h1.handshake();
    await g.recreateSocket();
    await h1.waitFor(() => h1.closed || undefined);
    expect(existsSync(g.path)).toBe(true);
    const h2 = await host(g);
    await h2.handshake();
    expect((await h2.challenge(8)).heartbeat_response).toBe(8);
    expect(g.stats.connections).toBe(2);
  });

  it.each([
    ['accept', 'accept', ''],
    ['reject', 'reject', 'simulated guest rejects stop'],
    ['timeout', 'timeout', 'Timeout on application and/or script action responses.'],
  ] as const)('setVote(%s): the action_response says %s', async (vote, result, logMsg) => {
    const { g } = await guest();
    const h = await host(g);
    await h.handshake();
    await until(() => g.state === 'enabled');
    g.setVote(vote);
    const from = h.messages.length;
    h.send({ msg_type: 'action_notify', invocation_id: 31, event_type: 'stop', notification_type: 'revocable', timeout_ms: 1500 });
    expect(await h.next('action_response', from)).toMatchObject({ invocation_id: 31, event_type: 'stop', vote_result: result, log_msg: logMsg });
    expect(g.stats.actionsSeen).toBe(1);
  });

  it('without a voter answers "complete"; with an event script in its config, the script votes', async () => {
    const { g, dir } = await guest();
    const h = await host(g);
    await h.handshake();
    await until(() => g.state === 'enabled');
    h.send({ msg_type: 'action_notify', invocation_id: 1, event_type: 'pause', notification_type: 'irrevocable', timeout_ms: 5000 });
    expect(await h.next('action_response')).toMatchObject({ vote_result: 'complete', log_msg: '' });

    const path = join(dir, 'vote.sh');
    await writeFile(path, '#!/bin/sh\necho "no $1 $2"\nexit 1\n');
    await chmod(path, 0o755);
    const { g: g2 } = await guest({ dir, config: { ...FAST, eventNotificationScript: path } });
    const h2 = await host(g2);
    await h2.handshake();
    await until(() => g2.state === 'enabled');
    h2.send({ msg_type: 'action_notify', invocation_id: 2, event_type: 'suspend', notification_type: 'revocable', timeout_ms: 5000 });
    expect(await h2.next('action_response')).toMatchObject({ vote_result: 'reject', log_msg: 'no revocable suspend ' });
  });

  it('close() removes the socket file and is idempotent', async () => {
    const { g } = await guest();
    await g.close();
    await g.close();
    expect(existsSync(g.path)).toBe(false);
    await expect(g.start()).rejects.toMatchObject({ code: 'GC_ERR_SIMULATOR_CLOSED' });
  });

  it('runs many guests in one process', async () => {
    const dir = await tempDir();
    const guests = await startSimulatedGuests(Array.from({ length: 100 }, () => randomUUID()), { dir, config: FAST });
    onTestFinished(async () => {
      await Promise.all(guests.map((x) => x.close()));
    });
    const hosts = await Promise.all(guests.map((x) => host(x)));
    await Promise.all(hosts.map((h) => h.handshake()));
    await until(() => guests.every((x) => x.state === 'enabled'));
    const responses = await Promise.all(hosts.map((h, i) => h.challenge(i)));
    expect(responses.map((r) => r.heartbeat_response)).toEqual(guests.map((_, i) => i));
  });
});
