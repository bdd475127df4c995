/**
 * QMP notification over a UNIX socket against a real QEMU, with awd in-process: the monitor type is
 * detected from the greeting, capabilities are negotiated, each reply is checked.
 */
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Awd } from '../src/awd.js';
import { systemClock } from '../src/clock.js';
import { buildConfig, parseArgs } from '../src/config.js';
import { CapturedEvents, frame, freePort, silentLog, tempDir, waitFor } from './helpers.js';
import { startQemu } from './qemu-helpers.js';

async function startAwd(argv: string[], script: string): Promise<{ awd: Awd; events: CapturedEvents }> {
  const events = new CapturedEvents();
  const awd = new Awd({ config: buildConfig(parseArgs(argv), () => script), clock: systemClock, log: silentLog, events });
  onTestFinished(() => awd.close());
  await awd.start();
  return { awd, events };
}

async function guest(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  onTestFinished(() => void socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  return socket;
}

describe('QMP notification (UNIX socket)', () => {
  it('input=frame heartbeat stops → stop, system_reset, quit over QMP, seen as QMP events and exit', async () => {
    const dir = await tempDir();
    const qmpPath = join(dir, 'qmp.sock');
    const qemu = await startQemu(dir, 'q', ['-qmp', `unix:${qmpPath},server=on,wait=off`]);
    await qemu.observer.execute('cont');
    expect((await qemu.observer.execute('query-status'))['return']).toMatchObject({ status: 'running' });
    const port = await freePort();
    const script = '{ "execute": "qmp_capabilities" }\n{ "execute": "stop" }\nsystem_reset\n{\n  "execute": "quit"\n}\n';
    const { events } = await startAwd(
      [
        '-chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '-chardev', `socket,id=mon,path=${qmpPath}`,
        '-object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=s,iothread=t,input=frame,timeout=400,pulse_interval=100',
      ],
      script,
    );
    const g = await guest(port);
    g.write(Buffer.from('not a frame\n')); // raw text does not arm the watchdog in frame mode
    await new Promise((r) => setTimeout(r, 600));
    expect(events.of('timeout')).toHaveLength(0);
    g.write(frame('beat'));
    await waitFor(() => events.of('timeout').length === 1, 3000, 'timeout');
    expect(await qemu.exit).toBe(0);
    const seen = qemu.observer.events.map((e) => e.event).filter((e) => ['STOP', 'RESET', 'SHUTDOWN'].includes(e));
    expect(seen).toEqual(['STOP', 'RESET', 'SHUTDOWN']);
    const notified = await waitFor(() => events.of('notified')[0], 3000, 'notified');
    expect(notified.mode).toBe('qmp');
    expect(notified.commands.map((c) => c.sent)).toEqual([
      '{"execute":"stop"}',
      '{"execute":"human-monitor-command","arguments":{"command-line":"system_reset"}}',
      '{"execute":"quit"}',
    ]);
    expect(notified.commands.every((c) => c.ok)).toBe(true);
  });

  it('a command QEMU rejects is reported with its error class; the rest still run; not retried', async () => {
    const dir = await tempDir();
    const qmpPath = join(dir, 'qmp.sock');
    const qemu = await startQemu(dir, 'q', ['-qmp', `unix:${qmpPath},server=on,wait=off`]);
    const port = await freePort();
    const { events } = await startAwd(
      [
        '-chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '-chardev', `socket,id=mon,path=${qmpPath}`,
        '-object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=s,iothread=t,timeout=200,notify=qmp',
      ],
      '{"execute":"no-such-cmd"}\n{"execute":"quit"}\n',
    );
    (await guest(port)).write('x');
    const failed = await waitFor(() => events.of('notify-failed')[0], 5000, 'notify-failed');
    expect(failed.reason).toMatch(/CommandNotFound/);
    expect(failed.attempts).toBe(1);
    expect(failed.commands.map((c) => c.ok)).toEqual([false, true]);
    expect(await qemu.exit).toBe(0);
  });

  it('the monitor is not there yet when the watchdog fires: the notification is retried until it is', async () => {
    const dir = await tempDir();
    const qmpPath = join(dir, 'late.sock');
    const port = await freePort();
    const { events } = await startAwd(
      [
        '-chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '-chardev', `socket,id=mon,path=${qmpPath}`,
        '-object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=s,iothread=t,timeout=200,notify_retry_ms=300,notify_retries=4',
      ],
      'quit\n',
    );
    (await guest(port)).write('x');
    await waitFor(() => events.of('timeout').length === 1, 3000, 'timeout');
    const qemu = await startQemu(dir, 'q', ['-qmp', `unix:${qmpPath},server=on,wait=off`]);
    const notified = await waitFor(() => events.of('notified')[0], 8000, 'notified');
    expect(notified.attempts).toBeGreaterThanOrEqual(2);
    expect(notified.mode).toBe('qmp');
    expect(await qemu.exit).toBe(0);
  });

  it('gives up after notify_retries and reports notify-failed with the reason', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const { events } = await startAwd(
      [
        '-chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '-chardev', `socket,id=mon,path=${join(dir, 'nobody.sock')}`,
        '-object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=s,iothread=t,timeout=100,notify_retry_ms=50,notify_retries=2',
      ],
      'quit\n',
    );
    (await guest(port)).write('x');
    const failed = await waitFor(() => events.of('notify-failed')[0], 5000, 'notify-failed');
    expect(failed).toMatchObject({ attempts: 3, mode: 'unknown' });
    expect(failed.reason).toMatch(/ENOENT/);
  });
});
