/**
 * Issue 13 item 1: awd itself stalls (SIGSTOP … SIGCONT) while its guest keeps beating. The guest's
 * input waits in the socket; on waking, awd must read it before deciding, so a guest that kept
 * pulsing is never notified against. Real awd processes, real QEMU monitors (HMP on TCP, QMP on UNIX),
 * and the COLO pair with a stalled primary. After each stall the guest really stops, to show the
 * watchdog still fires when it should.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AwdEvent } from '../src/events.js';
import { freePort, tempDir, waitFor } from './helpers.js';
import { startAwd, startQemu, type AwdProc } from './qemu-helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const of = (events: AwdEvent[], kind: AwdEvent['event']): AwdEvent[] => events.filter((e) => e.event === kind);

/** A guest on a TCP awd_node that writes `beat` every `everyMs` until stopped. */
async function beatingGuest(port: number, beat: string, everyMs: number): Promise<{ stop: () => void }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  onTestFinished(() => void socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  socket.write(beat);
  const timer = setInterval(() => socket.write(beat), everyMs);
  onTestFinished(() => clearInterval(timer));
  return { stop: () => clearInterval(timer) };
}

/** Stops the awd process for `ms` (SIGSTOP), then continues it. */
async function stall(awd: AwdProc, ms: number): Promise<void> {
  awd.child.kill('SIGSTOP');
  onTestFinished(() => void awd.child.kill('SIGCONT')); // never leave a stopped child behind
  await sleep(ms);
  awd.child.kill('SIGCONT');
}

/** Waits until awd logged that it noticed its own stall (the pino line of the driver). */
async function stallLogged(awd: AwdProc, watchdog: string): Promise<void> {
  await waitFor(
    () => awd.stdout.join('').split('\n').some((l) => l.includes('"msg":"awd stalled') && l.includes(`"watchdog":"${watchdog}"`)),
    5000,
    `awd to log its stall; output:\n${awd.stdout.join('')}`,
  );
}

describe('awd stalled (SIGSTOP/SIGCONT) while the guest keeps beating', () => {
  it('use case 1, HMP on TCP: no timeout, QEMU keeps running; a real silence afterwards still quits QEMU', { timeout: 45_000 }, async () => {
    const dir = await tempDir();
    const [monitorPort, detectionPort] = [await freePort(), await freePort()];
    const qemu = await startQemu(dir, 'q', ['-monitor', `tcp:127.0.0.1:${monitorPort},server=on,wait=off`]);
    const script = join(dir, 'script.txt');
    writeFileSync(script, 'quit\n');
    const awd = startAwd(
      [
        '--chardev', `socket,id=detection,host=127.0.0.1,port=${detectionPort},server=on,wait=off`,
        '--chardev', `socket,id=notification,host=127.0.0.1,port=${monitorPort}`,
        '--object', `advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=${script},iothread=iothread1,pulse_interval=1000,timeout=2000`,
      ],
      join(dir, 'events.jsonl'),
    );
    await waitFor(() => awd.stdout.join('').includes('awd ready'), 10_000, 'awd ready');
    const guest = await beatingGuest(detectionPort, 'alive\n', 250);
    await awd.waitEvent((e) => e.event === 'connected', 5000, 'connected');
    await sleep(500);

    await stall(awd, 4500); // more than twice the timeout
    await stallLogged(awd, 'awd1');
    await sleep(1000);
    expect(of(awd.events(), 'timeout')).toEqual([]);
    expect(qemu.child.exitCode).toBeNull();
    expect((await qemu.observer.execute('query-status'))['return']).toBeDefined();

    guest.stop();
    await awd.waitEvent((e) => e.event === 'timeout', 6000, 'timeout after the guest stopped');
    expect(await qemu.exit).toBe(0);
  });

  it('QMP on a UNIX socket, input=watchdog1: no timeout after a stall; a real silence afterwards quits QEMU', { timeout: 45_000 }, async () => {
    const dir = await tempDir();
    const qmpPath = join(dir, 'qmp.sock');
    const detectionPort = await freePort();
    const qemu = await startQemu(dir, 'q', ['-qmp', `unix:${qmpPath},server=on,wait=off`]);
    const script = join(dir, 'script.json');
    writeFileSync(script, '{ "execute": "quit" }\n');
    const awd = startAwd(
      [
        '--chardev', `socket,id=hb,host=127.0.0.1,port=${detectionPort},server=on,wait=off`,
        '--chardev', `socket,id=mon,path=${qmpPath}`,
        '--object', `advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=${script},iothread=t,input=watchdog1,notify=qmp,pulse_interval=500,timeout=1500`,
      ],
      join(dir, 'events.jsonl'),
    );
    await waitFor(() => awd.stdout.join('').includes('awd ready'), 10_000, 'awd ready');
    const guest = await beatingGuest(detectionPort, 'WATCHDOG=1\n', 200);
    await awd.waitEvent((e) => e.event === 'connected', 5000, 'connected');
    await sleep(500);

    await stall(awd, 4000);
    await stallLogged(awd, 'w');
    await sleep(1000);
    expect(of(awd.events(), 'timeout')).toEqual([]);
    expect(qemu.child.exitCode).toBeNull();

    guest.stop();
    await awd.waitEvent((e) => e.event === 'notified', 6000, 'notified after the guest stopped');
    expect(await qemu.exit).toBe(0);
  });

  it('COLO pair, primary stalled longer than both timeouts: the secondary fails over, the primary does not', { timeout: 50_000 }, async () => {
    const dir = await tempDir();
    const [pMon, sMon, hb] = [await freePort(), await freePort(), await freePort()];
    const primaryQemu = await startQemu(dir, 'p', ['-monitor', `tcp:127.0.0.1:${pMon},server=on,wait=off`]);
    await startQemu(dir, 's', ['-monitor', `tcp:127.0.0.1:${sMon},server=on,wait=off`]);
    writeFileSync(join(dir, 'colo_primary_opt_script'), 'x_colo_lost_heartbeat\n');
    writeFileSync(join(dir, 'colo_secondary_opt_script'), 'nbd_server_stop\nx_colo_lost_heartbeat\n');
    // The seed's shape with scaled timings: primary 200/1000 ms; the secondary pulses every 1000 ms
    // (the seed leaves it at 5000 against the primary's 5000 timeout) and times out after 2000 ms.
    const primary = startAwd(
      [
        '-object', 'iothread,id=iothread1',
        '-chardev', `socket,id=h1,host=127.0.0.1,port=${hb},server,nowait`,
        '-chardev', `socket,id=heart1,host=127.0.0.1,port=${pMon}`,
        '-object', `advanced-watchdog,id=heart1,server=on,awd_node=h1,notification_node=heart1,opt_script=${join(dir, 'colo_primary_opt_script')},iothread=iothread1,pulse_interval=200,timeout=1000`,
      ],
      join(dir, 'primary.jsonl'),
    );
    await waitFor(() => primary.stdout.join('').includes('awd ready'), 10_000, 'primary ready');
    const secondary = startAwd(
      [
        '-object', 'iothread,id=iothread2',
        '-chardev', `socket,id=h1,host=127.0.0.1,port=${hb},reconnect=1`,
        '-chardev', `socket,id=heart1,host=127.0.0.1,port=${sMon}`,
        '-object', `advanced-watchdog,id=heart1,server=off,awd_node=h1,notification_node=heart1,opt_script=${join(dir, 'colo_secondary_opt_script')},iothread=iothread2,pulse_interval=1000,timeout=2000`,
      ],
      join(dir, 'secondary.jsonl'),
    );
    await primary.waitEvent((e) => e.event === 'connected', 5000, 'primary: peer connected');
    await secondary.waitEvent((e) => e.event === 'connected', 5000, 'secondary: connected');
    await sleep(1500);
    expect(of(primary.events(), 'timeout')).toEqual([]);
    expect(of(secondary.events(), 'timeout')).toEqual([]);

    await stall(primary, 4000);
    // The secondary saw a real silence of 4 s against its 2 s timeout: it fails over.
    const s = await secondary.waitEvent((e) => e.event === 'notify-failed' || e.event === 'notified', 6000, 'secondary notification');
    expect(s).toMatchObject({ commands: [{ sent: 'nbd_server_stop' }, { sent: 'x_colo_lost_heartbeat' }] });
    // The primary finds the secondary's pulses waiting in its socket: no lost-heartbeat on waking.
    await stallLogged(primary, 'heart1');
    await secondary.waitEvent((e) => e.event === 'recovered', 6000, 'secondary recovered');
    await sleep(1000);
    expect(of(primary.events(), 'timeout')).toEqual([]);
    expect(primaryQemu.child.exitCode).toBeNull();
  });
});
