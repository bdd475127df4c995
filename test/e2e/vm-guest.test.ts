/**
 * The real VM on its own, against a small host peer: proves that the guest QEMU boots speaks v3 over the
 * virtio-serial channel as the reference guest-client does (init, echo, re-init after silence, votes) and
 * that pause, resume and kill look on the channel as qemu-e2e.md describes. The full chain with the real
 * daemons is in heartbeat-vm.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildGuestImage, missingPrerequisites } from './helpers/guest-image.js';
import { HostPeer, isActionResponse, isInit, isResponse } from './helpers/host-peer.js';
import { QemuVm } from './helpers/qemu.js';
import { waitFor } from '../helpers/wait.js';

const BOOT_TIMEOUT_MS = 45_000;

describe('real VM (QEMU TCG) heartbeat guest', () => {
  it('inits, echoes challenges, goes silent while paused, re-inits after silence and closes on kill', async () => {
    // Never skipped: a missing kernel or QEMU fails the test with the command that fixes it.
    expect(missingPrerequisites()).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'e2e-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const image = await buildGuestImage(dir);
    expect(image.modules).toContain('virtio_console');

    const startedAt = performance.now();
    const vm = await QemuVm.start({ dir, uuid: randomUUID(), image, heartbeatIntervalMs: 1000 });
    onTestFinished(() => vm.close());
    // QEMU creates the channel before the guest runs; a client may connect at once (qemu-e2e.md §3).
    await waitFor(() => existsSync(vm.channelPath), 5_000, 'the heartbeat channel socket');
    const peer = await HostPeer.connect(vm.channelPath);
    onTestFinished(() => peer.close());

    const init = await vm.whileBooting(peer.expect(isInit, BOOT_TIMEOUT_MS));
    expect(init.message).toMatchObject({
      version: 3, revision: 1, sequence: 1, heartbeat_interval_ms: 1000, corrective_action: 'reboot', name: 'e2e-guest',
    });
    peer.send({ msg_type: 'init_ack', sequence: 0, invocation_id: init.message.invocation_id });

    // Echo of each challenge; challenges before the ack would have gone unanswered (client §4.2).
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const challenge = 1_000_000 + i * 7919;
      const from = peer.received.length;
      const sentAt = peer.send({ msg_type: 'challenge', sequence: 0, heartbeat_challenge: challenge });
      const reply = await peer.expect(isResponse, 5_000, from);
      expect(reply.message).toMatchObject({ heartbeat_response: challenge, heartbeat_health: 'healthy' });
      rtts.push(reply.atMs - sentAt);
    }
    expect(Math.max(...rtts)).toBeLessThan(1_000);
    console.log(`e2e guest: first init ${Math.round(init.atMs - startedAt)} ms after QEMU start; challenge RTT ${rtts.map((r) => r.toFixed(1)).join(', ')} ms`);

    // A vote while enabled: the guest accepts and echoes the invocation id.
    let from = peer.received.length;
    peer.send({
      msg_type: 'action_notify', sequence: 0, invocation_id: 4242, event_type: 'stop', notification_type: 'revocable', timeout_ms: 9000,
    });
    const vote = await peer.expect(isActionResponse, 5_000, from);
    expect(vote.message).toMatchObject({ invocation_id: 4242, event_type: 'stop', notification_type: 'revocable', vote_result: 'accept' });

    // Paused: the channel stays connected but silent; the queued challenge is answered right after cont.
    await vm.qmp.execute('stop');
    expect(await vm.qmp.status()).toBe('paused');
    from = peer.received.length;
    peer.send({ msg_type: 'challenge', sequence: 0, heartbeat_challenge: 77 });
    await expect(peer.expect(isResponse, 1_500, from)).rejects.toThrow(/timed out/);
    expect(peer.isClosed).toBe(false);
    await vm.qmp.execute('cont');
    const late = await peer.expect(isResponse, 5_000, from);
    expect(late.message.heartbeat_response).toBe(77);

    // Silence: the guest re-inits after max(2 × interval, 5 s) with a new invocation id (client §6).
    const lastChallengeAt = performance.now();
    from = peer.received.length;
    const reinit = await peer.expect(isInit, 15_000, from);
    expect(reinit.atMs - lastChallengeAt).toBeGreaterThan(4_000);
    expect(reinit.message.invocation_id).not.toBe(init.message.invocation_id);
    expect(reinit.message.sequence).toBeGreaterThan(init.message.sequence);
    expect(peer.refused).toEqual([]);

    // SIGKILL: the host side sees EOF at once; the socket file stays behind (qemu-e2e.md §3 pitfall 6).
    const exit = await vm.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    await waitFor(() => peer.isClosed, 2_000, 'EOF on the channel');
    expect(existsSync(vm.channelPath)).toBe(true);
  }, 90_000);
});
