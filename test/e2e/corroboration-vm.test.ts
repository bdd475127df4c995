/**
 * Host-side corroboration with real QEMU guests (issue 16 item 7). guest-server runs as a real process
 * (`corroborate = report`, then restarted with `defer-starved`); a test agent (real HTTP) collects its events.
 * Two TCG guests boot in parallel:
 *   A: QMP stop → loss classed vcpus-paused; SIGSTOP of QEMU → vmm-stopped; QEMU starved by a CPU quota →
 *      host-starved; then, with defer-starved, starved again → the loss is held (counted, logged as the loss it
 *      would have reported) and dropped when the starvation ends and the guest answers: no alarm;
 *   B: its responder is killed inside the VM (the kernel and init go on) → guest-alive-heartbeat-dead;
 *   C: its responder is killed and init spins → guest-busy (C is shut down once lost: it takes a host core).
 * Every loss carries the forensics ring (answered round trips, then the misses).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LossEvent, PeerEvent } from '@guesthb/protocol';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FakeAgent } from '../../packages/guest-server/test/helpers/fake-agent.js';
import { Daemon, SERVER_BIN, freePort, missingDaemons } from '../helpers/daemon.js';
import { waitFor, waitForValue } from '../helpers/wait.js';
import { buildGuestImage, missingPrerequisites } from './helpers/guest-image.js';
import { QemuVm } from './helpers/qemu.js';
import { starve } from './helpers/starve.js';

const INTERVAL_MS = 1000;
const THRESHOLD = 2;
const HOLD_MS = 10_000;
const BOOT_MS = 60_000;
/** Detection (3 windows) plus slack for a loaded 2-core box. */
const LOSS_MS = 20_000;
/** The guest re-inits after max(2 × interval, 5 s) without a challenge, then must answer. */
const BACK_MS = 30_000;

describe('corroboration with real QEMU guests', () => {
  it('classes each loss from the QEMU process: vcpus-paused, vmm-stopped, host-starved (and, with defer-starved, held then dropped), guest-alive-heartbeat-dead, guest-busy', async () => {
    expect([...missingPrerequisites(), ...missingDaemons()]).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'e2e-co-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const channelDir = join(dir, 'qemu');
    await mkdir(channelDir);
    const image = await buildGuestImage(dir);
    const agent = new FakeAgent();
    await agent.start();
    onTestFinished(() => agent.close());

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const startServer = async (mode: string): Promise<Daemon> => {
      const ini = join(dir, `guest-server-${mode}.ini`);
      await writeFile(ini, [
        '[client]', `rx_port = ${port}`, 'bind_address = 127.0.0.1', `hbs_failure_threshold = ${THRESHOLD}`, 'hbs_pulse_period = 400',
        `advertise_url = ${base}`, `corroborate = ${mode}`, `corroborate_defer_ms = ${HOLD_MS}`, '',
      ].join('\n'));
      const daemon = new Daemon('guest-server', SERVER_BIN, [
        '--config', ini, '--channel-dir', channelDir, '--agent-url', agent.url, '--port', String(port), '--hostname', 'compute-0', '--log-level', 'info',
      ], `${base}/healthz`, { logPath: join(dir, `guest-server-${mode}.log`), healthPollMs: 50 });
      onTestFinished(() => daemon.stop().then(() => undefined));
      await daemon.waitHealthy();
      return daemon;
    };
    // The agent provisions the instances with reporting enabled, so losses are reported.
    const provision = async (uuids: readonly string[]): Promise<void> => {
      for (const uuid of uuids) {
        const res = await fetch(`${base}/v1/instances/${uuid}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reporting: 'enabled' }) });
        expect(res.status).toBe(200);
      }
    };
    let server = await startServer('report');
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
    };

    const uuidA = randomUUID();
    const uuidB = randomUUID();
    const uuidC = randomUUID();
    const [vmA, vmB, vmC] = await Promise.all([
      // no_timer_check: a TCG guest on a loaded host may fail the kernel's IO-APIC timer check and panic at boot.
      QemuVm.start({ dir: channelDir, uuid: uuidA, image, heartbeatIntervalMs: INTERVAL_MS, extraAppend: ['no_timer_check'] }),
      QemuVm.start({ dir: channelDir, uuid: uuidB, image, heartbeatIntervalMs: INTERVAL_MS, extraAppend: ['no_timer_check', 'hbdie=25'] }),
      QemuVm.start({ dir: channelDir, uuid: uuidC, image, heartbeatIntervalMs: INTERVAL_MS, extraAppend: ['no_timer_check', 'hbspin=25'] }),
    ]);
    onTestFinished(() => vmA.close());
    onTestFinished(() => vmB.close());
    onTestFinished(() => vmC.close());
    const diagnose = async (error: unknown): Promise<never> => {
      throw new Error(`${String(error)}\n--- guest-server\n${(await server.log()).slice(-6000)}\n--- A\n${(await vmA.console()).slice(-1500)}\n--- B\n${(await vmB.console()).slice(-1500)}`);
    };
    await provision([uuidA, uuidB, uuidC]);
    const running = (uuid: string, from: number): boolean => agent.events.slice(from).some((e) => e.kind === 'running' && e.instance.uuid === uuid);
    const lossOf = (uuid: string, from: number): LossEvent | undefined =>
      agent.events.slice(from).find((e): e is PeerEvent & LossEvent => e.kind === 'loss' && e.uuid === uuid);

    await Promise.all([
      vmA.whileBooting(waitFor(() => running(uuidA, 0), BOOT_MS, 'guest A running')),
      vmB.whileBooting(waitFor(() => running(uuidB, 0), BOOT_MS, 'guest B running')),
      vmC.whileBooting(waitFor(() => running(uuidC, 0), BOOT_MS, 'guest C running')),
    ]).catch(diagnose);
    // C spins once its responder is killed: a whole host core, so it is shut down as soon as it is lost.
    const spinning = waitForValue(() => lossOf(uuidC, 0), 90_000, 'loss of C spinning').finally(() => vmC.close());
    spinning.catch(() => undefined);

    try {
      // A, QMP stop: no vCPU runs or waits.
      let mark = agent.events.length;
      await vmA.qmp.execute('stop');
      const paused = await waitForValue(() => lossOf(uuidA, mark), LOSS_MS, 'loss of A while paused');
      expect(paused.corroboration?.class).toBe('vcpus-paused');
      expect(paused.corroboration?.evidence).toMatchObject({ pid: vmA.pid, vcpus: 1 });
      const rounds = paused.corroboration?.rounds ?? [];
      expect(rounds.at(-1)?.rttMs).toBeNull();
      expect(rounds.some((r) => r.rttMs !== null)).toBe(true);
      await vmA.qmp.execute('cont');
      await waitFor(() => running(uuidA, mark), BACK_MS, 'A running after cont');

      // A, SIGSTOP of QEMU itself.
      mark = agent.events.length;
      process.kill(vmA.pid, 'SIGSTOP');
      const stopped = await waitForValue(() => lossOf(uuidA, mark), LOSS_MS, 'loss of A while stopped').finally(() => process.kill(vmA.pid, 'SIGCONT'));
      expect(stopped.corroboration?.class).toBe('vmm-stopped');
      expect(stopped.corroboration?.evidence.processState).toBe('T');
      await waitFor(() => running(uuidA, mark), BACK_MS, 'A running after SIGCONT');

      // A starved of host CPU: the vCPU (or QEMU's main loop) is runnable but does not run.
      mark = agent.events.length;
      let starvation = starve(vmA.pid);
      const starved = await waitForValue(() => lossOf(uuidA, mark), LOSS_MS, `loss of A while starved (${starvation.method})`).finally(() => starvation.release());
      expect(starved.corroboration?.class).toBe('host-starved');
      expect(starved.corroboration?.evidence.cpuPct).toBeLessThan(1);
      await waitFor(() => running(uuidA, mark), BACK_MS, 'A running after the starvation');

      // B: its responder was killed inside the VM; the guest OS goes on.
      const dead = await waitForValue(() => lossOf(uuidB, 0), 60_000, 'loss of B after its responder died');
      expect(dead.corroboration?.class).toBe('guest-alive-heartbeat-dead');
      expect(dead.corroboration?.evidence.cpuPct).toBeGreaterThan(0);

      // C: a CPU hog inside the guest (its responder killed, init spinning): the vCPU wants the whole window.
      const busy = await spinning;
      expect(busy.corroboration?.class).toBe('guest-busy');

      // defer-starved: A starved, then released within the hold: the loss is held and dropped, no alarm.
      await server.stop();
      server = await startServer('defer-starved');
      await provision([uuidA]);
      mark = agent.events.length;
      await waitFor(() => running(uuidA, mark), BACK_MS, 'A running under the new server');
      const deferrals0 = await metric('guest_server_loss_deferrals_total');
      starvation = starve(vmA.pid);
      try {
        await waitFor(async () => (await metric('guest_server_loss_deferrals_total')) > deferrals0, LOSS_MS, `a held loss (${starvation.method})`);
      } finally {
        starvation.release();
      }
      await waitFor(async () => (await metric('guest_server_loss_deferrals_avoided_total')) >= 1, HOLD_MS, 'the held loss dropped');
      expect(lossOf(uuidA, mark)).toBeUndefined();
      const held = (await server.log()).split('\n').filter((l) => l.includes('would have reported a heartbeat loss'));
      expect(held.length).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(held[0] as string)).toMatchObject({ uuid: uuidA, lossClass: 'host-starved', holdMs: HOLD_MS });
    } catch (error) {
      await diagnose(error);
    }
  }, 170_000);
});
