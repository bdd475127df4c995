/**
 * Use case 3 (docs/awd.txt, awd spec §2.5): awd connects out to a remote service that beats; when the
 * service goes away the local VM is stopped. HMP monitor on a UNIX socket; seen through query-status.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PULSE_FRAME } from '../src/input-decoder.js';
import { tempDir, waitFor } from './helpers.js';
import { startAwd, startQemu } from './qemu-helpers.js';

describe('use case 3: remote service → stop the local VM', () => {
  it('the remote service stops beating → awd (client, reconnect=1) times out → VM paused', async () => {
    const dir = await tempDir();
    const hmpPath = join(dir, 'hmp.sock');
    const qemu = await startQemu(dir, 'q', ['-monitor', `unix:${hmpPath},server=on,wait=off`]);
    await qemu.observer.execute('cont');
    writeFileSync(join(dir, 'stop.txt'), 'stop\n');

    // The remote service: beats every 100 ms to whoever connects, and collects awd's pulses.
    const pulses: Buffer[] = [];
    const timers = new Set<NodeJS.Timeout>();
    const service = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => pulses.push(d));
      const t = setInterval(() => s.write('beat'), 100);
      timers.add(t);
      s.on('close', () => clearInterval(t));
    });
    service.listen(0, '127.0.0.1');
    await once(service, 'listening');
    const port = (service.address() as net.AddressInfo).port;
    const stopService = (): void => {
      for (const t of timers) clearInterval(t);
      service.close();
    };
    onTestFinished(stopService);

    const awd = startAwd(
      [
        '--chardev', `socket,id=remote,host=127.0.0.1,port=${port},reconnect=1`,
        '--chardev', `socket,id=monitor,path=${hmpPath}`,
        '--object', `advanced-watchdog,id=awd1,server=on,awd_node=remote,notification_node=monitor,opt_script=${join(dir, 'stop.txt')},iothread=iothread1,pulse_interval=300,timeout=1000`,
      ],
      join(dir, 'events.jsonl'),
    );
    await waitFor(() => Buffer.concat(pulses).includes(PULSE_FRAME), 3000, 'a pulse at the service');
    expect((await qemu.observer.execute('query-status'))['return']).toMatchObject({ status: 'running' });
    stopService(); // the beats stop; the connection stays open (a hung service, not a dead one)
    await awd.waitEvent((e) => e.event === 'notified', 5000, 'notified');
    expect((await qemu.observer.execute('query-status'))['return']).toMatchObject({ status: 'paused', running: false });
    expect(qemu.observer.events.map((e) => e.event)).toContain('STOP');
  });
});
