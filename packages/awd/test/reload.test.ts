/** SIGHUP (DESIGN.md §5): the event log is reopened for logrotate and a new log level applies; nothing else moves. */
import { once } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, tempDir, waitFor } from './helpers.js';
import { startAwd } from './qemu-helpers.js';

describe('SIGHUP', () => {
  it('reopens the event log after it was moved, applies the log level from the config file, and keeps running', async () => {
    const dir = await tempDir();
    const [detectionPort, monitorPort] = [await freePort(), await freePort()];
    const script = join(dir, 'script.txt');
    writeFileSync(script, 'stop\n');
    const config = join(dir, 'awd.conf');
    const writeConfig = (level: string): void =>
      writeFileSync(config, [
        `chardev socket,id=detection,host=127.0.0.1,port=${detectionPort},server=on,wait=off`,
        `chardev socket,id=notification,host=127.0.0.1,port=${monitorPort}`,
        `object advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=${script},iothread=io1,pulse_interval=1000,timeout=60000`,
        `log-level ${level}`,
        '',
      ].join('\n'));
    writeConfig('info');
    const eventLog = join(dir, 'events.jsonl');
    const awd = startAwd(['--config', config], eventLog);
    await waitFor(() => awd.stdout.join('').includes('awd ready'), 5000, 'awd ready');

    const guest = net.connect(detectionPort, '127.0.0.1');
    guest.on('error', () => undefined);
    onTestFinished(() => void guest.destroy());
    await awd.waitEvent((e) => e.event === 'connected', 5000, 'connected event');

    renameSync(eventLog, `${eventLog}.1`);           // what logrotate does
    writeConfig('debug');
    awd.child.kill('SIGHUP');
    await waitFor(() => awd.stdout.join('').includes('SIGHUP: log level changed'), 5000, 'log level change');
    guest.destroy();
    await awd.waitEvent((e) => e.event === 'disconnected', 5000, 'disconnected event in the reopened log');

    expect(readFileSync(`${eventLog}.1`, 'utf8')).toContain('"event":"connected"');
    expect(readFileSync(eventLog, 'utf8')).not.toContain('"event":"connected"');
    expect(awd.child.exitCode).toBeNull();

    // A changed option other than the log level is reported as needing a restart, not applied.
    writeFileSync(config, readFileSync(config, 'utf8').replace('timeout=60000', 'timeout=50000'));
    awd.child.kill('SIGHUP');
    await waitFor(() => awd.stdout.join('').includes('restart awd to apply them'), 5000, 'restart warning');
    awd.child.kill('SIGTERM');
    expect(await awd.exit).toBe(0);
  });

  it('re-reads opt_script: a new one is applied, a broken one is refused and the running one kept', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const detectionPort = await freePort();
    // The notification node: a silent TCP peer, so notify=auto falls back to raw and writes the script text.
    const received: Buffer[] = [];
    const peer = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => received.push(d));
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    onTestFinished(() => void peer.close());
    const monitorPort = (peer.address() as net.AddressInfo).port;
    const script = join(dir, 'script.txt');
    writeFileSync(script, 'stop\n');
    const awd = startAwd([
      '--chardev', `socket,id=detection,host=127.0.0.1,port=${detectionPort},server=on,wait=off`,
      '--chardev', `socket,id=notification,host=127.0.0.1,port=${monitorPort}`,
      '--object', `advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=${script},iothread=io1,timeout=300`,
    ], join(dir, 'events.jsonl'));
    await waitFor(() => awd.stdout.join('').includes('awd ready'), 5000, 'awd ready');

    writeFileSync(script, 'quit\n');
    awd.child.kill('SIGHUP');
    await waitFor(() => awd.stdout.join('').includes('SIGHUP: new opt_script applied'), 5000, 'new script applied');
    writeFileSync(script, '{ "execute": "stop"\n');
    awd.child.kill('SIGHUP');
    await waitFor(() => /script\.txt:1: JSON object not closed[^\n]*config no longer valid/.test(awd.stdout.join('')), 5000, 'broken script refused');
    expect(awd.child.exitCode).toBeNull();

    const guest = net.connect(detectionPort, '127.0.0.1');
    guest.on('error', () => undefined);
    onTestFinished(() => void guest.destroy());
    await once(guest, 'connect');
    guest.write('beat');
    await awd.waitEvent((e) => e.event === 'notified', 5000, 'notified');
    expect(Buffer.concat(received).toString()).toBe('quit\n');
  });
});
