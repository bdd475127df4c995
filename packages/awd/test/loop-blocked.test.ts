/**
 * Issue 13 item 1, the other way awd stalls: its event loop is blocked (a long synchronous task) while
 * the guest, another process, keeps beating. When the loop runs again the overdue timer comes first;
 * the beats waiting in the socket must still be read before the watchdog decides.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Awd } from '../src/awd.js';
import { systemClock } from '../src/clock.js';
import { buildConfig, parseArgs } from '../src/config.js';
import { CapturedEvents, freePort, silentLog, waitFor } from './helpers.js';

describe('awd event loop blocked while the guest beats', () => {
  it('no timeout after a 2.5 s block with a 1 s timeout; the stall is counted; real silence still fires', { timeout: 30_000 }, async () => {
    const [port, nobody] = [await freePort(), await freePort()];
    const events = new CapturedEvents();
    const awd = new Awd({
      config: buildConfig(parseArgs([
        '--chardev', `socket,id=hb,host=127.0.0.1,port=${port},server=on,wait=off`,
        '--chardev', `socket,id=mon,host=127.0.0.1,port=${nobody}`,
        '--object', 'advanced-watchdog,id=w,server=on,awd_node=hb,notification_node=mon,opt_script=s,iothread=t,notify=raw,notify_retries=0,timeout=1000,pulse_interval=300',
      ]), () => 'quit\n'),
      clock: systemClock,
      log: silentLog,
      events,
    });
    onTestFinished(() => awd.close());
    await awd.start();
    // The guest: a separate Node process writing a beat every 100 ms for 6 s, then going quiet.
    const guest = spawn(process.execPath, ['-e', `
      const s = require('node:net').connect(${port}, '127.0.0.1');
      s.on('data', () => {});
      s.on('connect', () => { const t = setInterval(() => s.write('x'), 100); setTimeout(() => clearInterval(t), 6000); });
      setTimeout(() => process.exit(0), 20000);
    `], { stdio: 'ignore' });
    onTestFinished(() => void guest.kill('SIGKILL'));
    await waitFor(() => events.of('connected').length > 0, 5000, 'guest connected');
    await new Promise((r) => setTimeout(r, 500));

    const until = performance.now() + 2500;
    while (performance.now() < until) {
      // Blocked: no timer, no I/O runs here.
    }
    await new Promise((r) => setTimeout(r, 800));
    expect(events.of('timeout')).toEqual([]);
    expect(awd.watchdogs[0]?.toJSON()).toMatchObject({ timeouts: 0 });
    expect((awd.watchdogs[0]?.toJSON() as { stalls: number }).stalls).toBeGreaterThanOrEqual(1);

    // The guest goes quiet after 6 s: then the watchdog fires as usual.
    const fired = await waitFor(() => events.of('timeout')[0], 10_000, 'timeout after the guest went quiet');
    expect(fired.stallMs).toBeUndefined();
  });
});
