/**
 * Use case 2 (docs/awd.txt, awd spec §2.5): the COLO pair. Primary and secondary each run their own
 * awd and drive their own QEMU's HMP monitor. The heartbeat link between them runs through a proxy
 * the test can cut. Timings are scaled down (primary 200/1000 ms, secondary default/2000 ms instead
 * of 1000/5000 and default/10000) to keep the test short; everything else is the seed's.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AwdEvent } from '../src/events.js';
import { freePort, tempDir } from './helpers.js';
import { startAwd, startQemu } from './qemu-helpers.js';

/** A TCP forwarder standing for the network between the hosts; cut() drops every connection and refuses new ones. */
class Link {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  constructor(readonly port: number, readonly target: number) {
    onTestFinished(() => this.cut());
  }
  async up(): Promise<void> {
    const server = net.createServer((a) => {
      const b = net.connect(this.target, '127.0.0.1');
      for (const s of [a, b]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          a.destroy();
          b.destroy();
        });
      }
      a.pipe(b);
      b.pipe(a);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
  }
  async cut(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise((r) => server.close(r));
  }
}

const of = (events: AwdEvent[], kind: AwdEvent['event']): AwdEvent[] => events.filter((e) => e.event === kind);

describe('use case 2: COLO primary and secondary, each with its own awd and monitor', () => {
  it('link up: nobody fires; link cut: each side sends its failover commands to its own monitor; link back: recovered', async () => {
    const dir = await tempDir();
    const [pMon, sMon, hb, proxy] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const primaryQemu = await startQemu(dir, 'p', ['-monitor', `tcp:127.0.0.1:${pMon},server=on,wait=off`]);
    const secondaryQemu = await startQemu(dir, 's', ['-monitor', `tcp:127.0.0.1:${sMon},server=on,wait=off`]);
    writeFileSync(join(dir, 'colo_primary_opt_script'), 'x_colo_lost_heartbeat\n');
    writeFileSync(join(dir, 'colo_secondary_opt_script'), 'nbd_server_stop\nx_colo_lost_heartbeat\n');
    const link = new Link(proxy, hb);
    await link.up();

    // The primary is configured through a config file (the systemd form), the secondary on the command line.
    const primaryConf = join(dir, 'primary.conf');
    writeFileSync(
      primaryConf,
      [
        '# primary host',
        '-object iothread,id=iothread1',
        `-chardev socket,id=h1,host=127.0.0.1,port=${hb},server,nowait`,
        `-chardev socket,id=heart1,host=127.0.0.1,port=${pMon}`,
        `-object advanced-watchdog,id=heart1,server=on,awd_node=h1,notification_node=heart1,opt_script=${join(dir, 'colo_primary_opt_script')},iothread=iothread1,pulse_interval=200,timeout=1000`,
      ].join('\n'),
    );
    const primary = startAwd(['--config', primaryConf], join(dir, 'primary.jsonl'));
    await waitListening(hb);
    const secondary = startAwd(
      [
        '-object', 'iothread,id=iothread2',
        '-chardev', `socket,id=h1,host=127.0.0.1,port=${proxy},reconnect=1`,
        '-chardev', `socket,id=heart1,host=127.0.0.1,port=${sMon}`,
        '-object', `advanced-watchdog,id=heart1,server=off,awd_node=h1,notification_node=heart1,opt_script=${join(dir, 'colo_secondary_opt_script')},iothread=iothread1,timeout=2000`,
      ],
      join(dir, 'secondary.jsonl'),
    );
    await primary.waitEvent((e) => e.event === 'connected', 5000, 'primary: peer connected');
    await secondary.waitEvent((e) => e.event === 'connected', 5000, 'secondary: connected');
    // Longer than both timeouts: pulses and replies keep both sides quiet.
    await new Promise((r) => setTimeout(r, 2500));
    expect(of(primary.events(), 'timeout')).toEqual([]);
    expect(of(secondary.events(), 'timeout')).toEqual([]);

    await link.cut();
    const p = await primary.waitEvent((e) => e.event === 'notify-failed' || e.event === 'notified', 6000, 'primary notification');
    const s = await secondary.waitEvent((e) => e.event === 'notify-failed' || e.event === 'notified', 8000, 'secondary notification');
    // Debian's QEMU has no COLO/NBD state here, so it answers with errors: proof that each command reached it.
    expect(p).toMatchObject({
      event: 'notify-failed', mode: 'hmp', attempts: 1,
      commands: [{ sent: 'x_colo_lost_heartbeat', answer: "Error: The feature 'colo' is not enabled", ok: false }],
    });
    expect(s).toMatchObject({
      event: 'notify-failed', mode: 'hmp',
      commands: [
        { sent: 'nbd_server_stop', answer: 'Error: NBD server not running', ok: false },
        { sent: 'x_colo_lost_heartbeat', answer: "Error: The feature 'colo' is not enabled", ok: false },
      ],
    });
    expect(of(primary.events(), 'timeout')).toHaveLength(1);
    expect(of(secondary.events(), 'timeout')).toHaveLength(1);
    expect((await primaryQemu.observer.execute('query-status'))['return']).toBeDefined();
    expect((await secondaryQemu.observer.execute('query-status'))['return']).toBeDefined();

    await link.up(); // the secondary redials every second (reconnect=1)
    await primary.waitEvent((e) => e.event === 'recovered', 6000, 'primary recovered');
    await secondary.waitEvent((e) => e.event === 'recovered', 6000, 'secondary recovered');
  });
});

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} never listened`);
}
