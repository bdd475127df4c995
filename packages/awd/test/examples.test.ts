/**
 * The shipped example configurations (packages/awd/examples, in the tarball as doc/awd-examples) run
 * as written against real QEMUs, with the seed's timings. Only addresses change: each `host=H,port=P`
 * becomes a free loopback port, each `path=` a temp socket, each `opt_script=/etc/awd/X` the shipped X.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AwdEvent } from '../src/events.js';
import { loadConfig } from '../src/main.js';
import { freePort, tempDir, waitFor } from './helpers.js';
import { startAwd, startQemu } from './qemu-helpers.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const of = (events: AwdEvent[], kind: AwdEvent['event']): AwdEvent[] => events.filter((e) => e.event === kind);

/** Writes `name` into `dir` with its addresses replaced (`ports`: "host:port" → loopback port; `paths`: path → path). */
function localCopy(dir: string, name: string, ports: Record<string, number>, paths: Record<string, string> = {}): string {
  let text = readFileSync(join(EXAMPLES, name), 'utf8');
  text = text.replace(/host=([^,\s]+),port=(\d+)/g, (all, host: string, port: string) => {
    const local = ports[`${host}:${port}`];
    if (local === undefined) throw new Error(`${name}: no port for ${host}:${port}`);
    return `host=127.0.0.1,port=${local}`;
  });
  text = text.replace(/path=([^,\s]+)/g, (all, path: string) => `path=${paths[path] ?? path}`);
  text = text.replace(/opt_script=\/etc\/awd\//g, `opt_script=${EXAMPLES}`);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('shipped example configurations', () => {
  it('every example parses as shipped (scripts from the examples directory)', async () => {
    const dir = await tempDir();
    const confs = readdirSync(EXAMPLES).filter((f) => f.endsWith('.conf'));
    expect(confs.sort()).toEqual(['colo-primary.conf', 'colo-secondary.conf', 'guest-liveness.conf', 'remote-service.conf']);
    for (const conf of confs) {
      const file = join(dir, conf);
      writeFileSync(file, readFileSync(join(EXAMPLES, conf), 'utf8').replace(/opt_script=\/etc\/awd\//g, `opt_script=${EXAMPLES}`));
      const [watchdog] = loadConfig(['--config', file]).watchdogs;
      expect(watchdog?.script.hmp.length).toBeGreaterThan(0);
    }
  });

  it('use case 1, guest-liveness.conf: beats keep QEMU alive; 5 s of silence and QEMU quits', { timeout: 40_000 }, async () => {
    const dir = await tempDir();
    const [detection, monitor] = [await freePort(), await freePort()];
    const qemu = await startQemu(dir, 'q', ['-monitor', `tcp:127.0.0.1:${monitor},server=on,wait=off`]);
    const conf = localCopy(dir, 'guest-liveness.conf', { '0.0.0.0:9009': detection, '127.0.0.1:4445': monitor });
    const awd = startAwd(['--config', conf], join(dir, 'events.jsonl'));
    await waitFor(() => awd.stdout.join('').includes('awd ready'), 10_000, 'awd ready');
    const guest = net.connect(detection, '127.0.0.1');
    guest.on('error', () => undefined);
    guest.on('data', () => undefined);
    onTestFinished(() => void guest.destroy());
    await once(guest, 'connect');
    const beat = setInterval(() => guest.write('alive\n'), 1000);
    onTestFinished(() => clearInterval(beat));
    guest.write('alive\n');
    await sleep(6000); // longer than the timeout
    expect(of(awd.events(), 'timeout')).toEqual([]);
    clearInterval(beat);
    await awd.waitEvent((e) => e.event === 'timeout', 8000, 'timeout');
    expect(await qemu.exit).toBe(0);
    expect(await awd.waitEvent((e) => e.event === 'notified', 3000, 'notified')).toMatchObject({ mode: 'hmp', commands: [{ sent: 'quit' }] });
  });

  it('use case 2, colo-primary.conf + colo-secondary.conf: quiet while linked; link cut: both fail over on their own monitors', { timeout: 55_000 }, async () => {
    const dir = await tempDir();
    const [hb, link, pMon, sMon] = [await freePort(), await freePort(), await freePort(), await freePort()];
    await startQemu(dir, 'p', ['-monitor', `tcp:127.0.0.1:${pMon},server=on,wait=off`]);
    await startQemu(dir, 's', ['-monitor', `tcp:127.0.0.1:${sMon},server=on,wait=off`]);
    // The network between the hosts: the secondary reaches the primary through a cuttable forwarder.
    const sockets = new Set<net.Socket>();
    const forwarder = net.createServer((a) => {
      const b = net.connect(hb, '127.0.0.1');
      for (const s of [a, b]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => (a.destroy(), b.destroy()));
      }
      a.pipe(b);
      b.pipe(a);
    });
    forwarder.listen(link, '127.0.0.1');
    await once(forwarder, 'listening');
    const cut = (): void => {
      forwarder.close();
      for (const s of sockets) s.destroy();
    };
    onTestFinished(cut);
    const primary = startAwd(['--config', localCopy(dir, 'colo-primary.conf', { '3.3.3.3:9009': hb, '3.3.3.3:4445': pMon })], join(dir, 'p.jsonl'));
    await waitFor(() => primary.stdout.join('').includes('awd ready'), 10_000, 'primary ready');
    const secondary = startAwd(['--config', localCopy(dir, 'colo-secondary.conf', { '3.3.3.3:9009': link, '3.3.3.8:4445': sMon })], join(dir, 's.jsonl'));
    await primary.waitEvent((e) => e.event === 'connected', 10_000, 'primary: secondary connected');
    await sleep(6000); // longer than the primary's 5 s timeout
    expect(of(primary.events(), 'timeout')).toEqual([]);
    expect(of(secondary.events(), 'timeout')).toEqual([]);

    cut();
    const p = await primary.waitEvent((e) => e.event === 'notify-failed' || e.event === 'notified', 9000, 'primary notification');
    const s = await secondary.waitEvent((e) => e.event === 'notify-failed' || e.event === 'notified', 14_000, 'secondary notification');
    // Debian's QEMU has no COLO here and answers with errors: proof that each command reached its own monitor.
    expect(p).toMatchObject({ mode: 'hmp', commands: [{ sent: 'x_colo_lost_heartbeat', answer: "Error: The feature 'colo' is not enabled" }] });
    expect(s).toMatchObject({ mode: 'hmp', commands: [{ sent: 'nbd_server_stop' }, { sent: 'x_colo_lost_heartbeat' }] });
  });

  it('use case 3, remote-service.conf: the service stops beating → the local VM is paused', { timeout: 40_000 }, async () => {
    const dir = await tempDir();
    const hmpPath = join(dir, 'hmp.sock');
    const qemu = await startQemu(dir, 'q', ['-monitor', `unix:${hmpPath},server=on,wait=off`]);
    await qemu.observer.execute('cont');
    const timers = new Set<NodeJS.Timeout>();
    const service = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      const t = setInterval(() => s.write('beat'), 1000);
      timers.add(t);
      s.on('close', () => clearInterval(t));
    });
    const port = await freePort();
    service.listen(port, '127.0.0.1');
    await once(service, 'listening');
    const stopService = (): void => {
      for (const t of timers) clearInterval(t);
      service.close();
    };
    onTestFinished(stopService);
    const conf = localCopy(dir, 'remote-service.conf', { '10.0.0.10:9010': port }, { '/run/awd/vm1-monitor.sock': hmpPath });
    const awd = startAwd(['--config', conf], join(dir, 'events.jsonl'));
    await awd.waitEvent((e) => e.event === 'connected', 10_000, 'connected to the service');
    await sleep(6000);
    expect(of(awd.events(), 'timeout')).toEqual([]);
    stopService();
    await awd.waitEvent((e) => e.event === 'notified', 9000, 'notified');
    expect((await qemu.observer.execute('query-status'))['return']).toMatchObject({ status: 'paused' });
  });
});
