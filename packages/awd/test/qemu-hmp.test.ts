/**
 * Use case 1 (docs/awd.txt, awd spec §2.5) against a real QEMU: the awd CLI exactly as the issue
 * writes it (loopback instead of 0.0.0.0, free ports), HMP monitor on TCP, script stop/system_reset/quit.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PULSE_FRAME } from '../src/input-decoder.js';
import { freePort, tempDir, waitFor } from './helpers.js';
import { awdHttpPort, startAwd, startQemu } from './qemu-helpers.js';

describe('use case 1: guest liveness → HMP on TCP', () => {
  it('heartbeat stops → awd times out after 5 s → QEMU runs stop, system_reset, quit', async () => {
    const dir = await tempDir();
    const [monitorPort, detectionPort] = [await freePort(), await freePort()];
    const qemu = await startQemu(dir, 'q', ['-monitor', `tcp:127.0.0.1:${monitorPort},server=on,wait=off`]);
    await qemu.observer.execute('cont'); // running, so that `stop` shows as a STOP event
    const script = join(dir, 'script.txt');
    writeFileSync(script, 'stop\nsystem_reset\nquit\n');
    const awd = startAwd(
      [
        '--chardev', `socket,id=detection,host=127.0.0.1,port=${detectionPort},server=on,wait=off`,
        '--chardev', `socket,id=notification,host=127.0.0.1,port=${monitorPort}`,
        '--object', `advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=${script},iothread=iothread1,pulse_interval=1000,timeout=5000`,
        '--http', '127.0.0.1:0',
      ],
      join(dir, 'events.jsonl'),
    );
    const httpPort = await awdHttpPort(awd);

    // The "guest": connects to the detection node, beats, and reads the pulses.
    const guest = net.connect(detectionPort, '127.0.0.1');
    guest.on('error', () => undefined);
    onTestFinished(() => void guest.destroy());
    const received: Buffer[] = [];
    guest.on('data', (d: Buffer) => received.push(d));
    const beat = setInterval(() => guest.write('alive\n'), 200);
    onTestFinished(() => clearInterval(beat));
    await waitFor(() => Buffer.concat(received).includes(PULSE_FRAME), 3000, 'a pulse from awd');

    const status = (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as { watchdogs: { state: { kind: string } }[] };
    expect(status.watchdogs[0]?.state.kind).toBe('armed');
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);

    clearInterval(beat);
    const stoppedAt = performance.now();
    const timeout = await awd.waitEvent((e) => e.event === 'timeout', 8000, 'timeout');
    const elapsed = performance.now() - stoppedAt;
    expect(elapsed).toBeGreaterThan(4700);
    expect(timeout).toMatchObject({ watchdog: 'awd1' });
    expect(await qemu.exit).toBe(0); // quit reached QEMU
    expect(qemu.observer.events.map((e) => e.event)).toEqual(expect.arrayContaining(['STOP', 'RESET', 'SHUTDOWN']));
    const notified = await awd.waitEvent((e) => e.event === 'notified', 3000, 'notified');
    expect(notified).toMatchObject({
      mode: 'hmp',
      attempts: 1,
      commands: [
        { sent: 'stop', answer: '', ok: true },
        { sent: 'system_reset', answer: '', ok: true },
        { sent: 'quit', answer: null, ok: true },
      ],
    });

    // The guest comes back: one `recovered`, and the metrics count it all.
    guest.write('back\n');
    await awd.waitEvent((e) => e.event === 'recovered', 3000, 'recovered');
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/awd_timeouts_total\{watchdog="awd1"\} 1/);
    expect(metrics).toMatch(/awd_notifications_total\{watchdog="awd1",result="ok"\} 1/);
    expect(metrics).toMatch(/awd_recoveries_total\{watchdog="awd1"\} 1/);
    awd.child.kill('SIGTERM');
    expect(await awd.exit).toBe(0);
  });
});
