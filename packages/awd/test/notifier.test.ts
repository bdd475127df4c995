/** Notification paths that need no QEMU: raw peers, a listening notification node, the CLI's exit code. */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Awd } from '../src/awd.js';
import { benchFiring } from '../src/bench-firing.js';
import { systemClock } from '../src/clock.js';
import { buildConfig, parseArgs } from '../src/config.js';
import { hmpCommands, qmpCommands } from '../src/script.js';
import { CapturedEvents, freePort, silentLog, waitFor } from './helpers.js';

async function run(argv: string[], script: string): Promise<{ awd: Awd; events: CapturedEvents }> {
  const events = new CapturedEvents();
  const awd = new Awd({ config: buildConfig(parseArgs(argv), () => script), clock: systemClock, log: silentLog, events });
  onTestFinished(() => awd.close());
  await awd.start();
  return { awd, events };
}

async function beat(port: number): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  onTestFinished(() => void s.destroy());
  await once(s, 'connect');
  s.write('x');
}

describe('raw notification', () => {
  it('auto: a peer that says nothing gets the whole script in one write, byte for byte', async () => {
    const received: Buffer[] = [];
    const peer = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    onTestFinished(() => void peer.close());
    const port = await freePort();
    const script = 'line one\nline two\n';
    const { events } = await run(
      [
        '--chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '--chardev', `socket,id=out,host=127.0.0.1,port=${(peer.address() as net.AddressInfo).port}`,
        '--object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=out,opt_script=s,iothread=t,timeout=100',
      ],
      script,
    );
    await beat(port);
    const notified = await waitFor(() => events.of('notified')[0], 4000, 'notified');
    expect(notified).toMatchObject({ mode: 'raw', attempts: 1, commands: [{ sent: script, answer: null, ok: true }] });
    await waitFor(() => Buffer.concat(received).toString() === script, 2000, 'script at the peer');
  });

  it('a listening notification node writes to whoever is connected, and retries while nobody is', async () => {
    const [hbPort, outPort] = [await freePort(), await freePort()];
    const { events } = await run(
      [
        '--chardev', `socket,id=hb,host=127.0.0.1,port=${hbPort},server=on,wait=off`,
        '--chardev', `socket,id=out,host=127.0.0.1,port=${outPort},server=on,wait=off`,
        '--object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=out,opt_script=s,iothread=t,timeout=100,notify_retry_ms=200',
      ],
      'failover\n',
    );
    await beat(hbPort);
    await waitFor(() => events.of('timeout')[0], 2000, 'timeout');
    const listener = net.connect(outPort, '127.0.0.1');
    onTestFinished(() => void listener.destroy());
    const [data] = (await once(listener, 'data')) as [Buffer];
    expect(data.toString()).toBe('failover\n');
    const notified = await waitFor(() => events.of('notified')[0], 2000, 'notified');
    expect(notified.attempts).toBeGreaterThanOrEqual(2);
  });
});

describe('several watchdogs in one process', () => {
  it('each has its own nodes, timer and notification; one firing leaves the other alone', async () => {
    const received: string[] = [];
    const peer = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d.toString())));
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    onTestFinished(() => void peer.close());
    const out = (peer.address() as net.AddressInfo).port;
    const [a, b] = [await freePort(), await freePort()];
    const { awd, events } = await run(
      [
        '--chardev', `socket,id=a,host=127.0.0.1,port=${a},server=on,wait=off`,
        '--chardev', `socket,id=b,host=127.0.0.1,port=${b},server=on,wait=off`,
        '--chardev', `socket,id=na,host=127.0.0.1,port=${out}`,
        '--chardev', `socket,id=nb,host=127.0.0.1,port=${out}`,
        '--object', 'advanced-watchdog,id=wa,server=on,awd_node=a,notification_node=na,opt_script=s,iothread=t,timeout=150,notify=raw',
        '--object', 'advanced-watchdog,id=wb,server=on,awd_node=b,notification_node=nb,opt_script=s,iothread=t,timeout=150,notify=raw',
      ],
      'failover\n',
    );
    const sb = net.connect(b, '127.0.0.1');
    onTestFinished(() => void sb.destroy());
    await once(sb, 'connect');
    const keep = setInterval(() => sb.write('x'), 30);
    onTestFinished(() => clearInterval(keep));
    await beat(a);
    await waitFor(() => events.of('notified')[0], 3000, 'wa notified');
    expect(events.of('timeout').map((e) => e.watchdog)).toEqual(['wa']);
    expect(awd.watchdogs.map((w) => w.state.kind)).toEqual(['fired', 'armed']);
    await waitFor(() => received.join('') === 'failover\n', 2000, 'script at the peer');
  });
});

describe('shutdown during a notification', () => {
  it('close() cuts a retrying notification short and reports it', async () => {
    const port = await freePort();
    const { awd, events } = await run(
      [
        '--chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '--chardev', `socket,id=out,path=/nonexistent-awd-dir/mon.sock`,
        '--object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=out,opt_script=s,iothread=t,timeout=50,notify_retry_ms=60000',
      ],
      'quit\n',
    );
    await beat(port);
    await waitFor(() => events.of('timeout')[0], 2000, 'timeout');
    const t0 = performance.now();
    await awd.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    const failed = events.of('notify-failed')[0];
    expect(failed?.reason).toMatch(/^awd closing/);
  });
});

describe('script splitting', () => {
  it('HMP: one command per line, blanks and # comments skipped', () => {
    expect(hmpCommands('# failover\nnbd_server_stop\r\n\n  x_colo_lost_heartbeat  \n')).toEqual(['nbd_server_stop', 'x_colo_lost_heartbeat']);
  });
  it('QMP: JSON objects as they are (also several on one line), other lines through human-monitor-command', () => {
    expect(qmpCommands('{"execute":"qmp_capabilities"}\n{"execute":"stop"}{"execute":"cont"}\ninfo status\n{\n "execute": "quit"\n}')).toEqual([
      '{"execute":"stop"}',
      '{"execute":"cont"}',
      '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}',
      '{"execute":"quit"}',
    ]);
  });
});

describe('CLI', () => {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
  it('a configuration mistake prints the QEMU-style message and exits with code 2', () => {
    const r = spawnSync(process.execPath, [bin, '--chardev', 'socket,id=a,port=1', '--object', 'advanced-watchdog,id=w,awd_node=a,notification_node=b,opt_script=s,iothread=t'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("awd: Device 'b' not found\n");
  });
});

describe('firing-error benchmark', () => {
  it('measures actual − configured timeout with the real clock', async () => {
    const r = await benchFiring({ trials: 20, timeoutMs: 20, concurrency: 4 });
    expect(r.trials).toBe(20);
    expect(r.minMs).toBeGreaterThanOrEqual(0);
    expect(r.p99Ms).toBeLessThan(200);
  });
});
