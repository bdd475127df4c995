import { ManualClock } from '@guesthb/protocol';
import { describe, expect, it } from 'vitest';
import type { InputMode } from '../src/config.js';
import { PULSE_FRAME, REPLY_FRAME, WATCHDOG1_LINE } from '../src/input-decoder.js';
import type { NotifyResult } from '../src/notifier.js';
import { Watchdog } from '../src/watchdog.js';
import { CapturedEvents, frame, silentLog } from './helpers.js';
import { StallClock } from './stall-clock.js';

interface Rig {
  clock: StallClock;
  watchdog: Watchdog;
  /** Bytes waiting unread in awd_node's socket: delivered when the driver lets pending input in. */
  unread: Buffer[];
  written: Buffer[];
  events: CapturedEvents;
  notifications: { count: number; release: () => void };
}

function rig(opts: { pulse?: number; timeout?: number; armAtStart?: boolean; input?: InputMode; server?: boolean; hold?: boolean; ok?: boolean } = {}): Rig {
  const clock = new StallClock();
  const unread: Buffer[] = [];
  const written: Buffer[] = [];
  const events = new CapturedEvents();
  const notifications = { count: 0, release: (): void => undefined };
  const result: NotifyResult = opts.ok === false
    ? { ok: false, mode: 'hmp', attempts: 4, commands: [], reason: 'connect ECONNREFUSED' }
    : { ok: true, mode: 'hmp', attempts: 1, commands: [{ sent: 'quit', answer: null, ok: true }] };
  const watchdog = new Watchdog({
    id: 'awd1',
    policy: { pulseIntervalMs: opts.pulse ?? 1000, timeoutMs: opts.timeout ?? 5000, armAtStart: opts.armAtStart ?? false, stallThresholdMs: 500 },
    input: opts.input ?? 'any',
    server: opts.server ?? true,
    clock,
    log: silentLog,
    port: { write: (b) => (written.push(b), true) },
    events,
    notify: () => {
      notifications.count++;
      if (opts.hold !== true) return Promise.resolve(result);
      return new Promise((resolve) => (notifications.release = () => resolve(result)));
    },
    // One turn of the event loop in virtual time: the socket's waiting bytes are read, then fn runs.
    afterPendingIo: (fn) =>
      clock.setTimeout(() => {
        for (const chunk of unread.splice(0)) watchdog.receive(chunk);
        fn();
      }, 0),
  });
  return { clock, watchdog, unread, written, events, notifications };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Watchdog driver (ManualClock)', () => {
  it('pulses every pulse_interval from start, whether or not input arrives', () => {
    const { clock, watchdog, written } = rig();
    watchdog.start();
    clock.advance(999);
    expect(written).toHaveLength(0);
    clock.advance(1);
    expect(written).toEqual([PULSE_FRAME]);
    clock.advance(4000);
    expect(written).toHaveLength(5);
  });

  it('fires exactly timeout ms after the last input, once, and notifies', async () => {
    const { clock, watchdog, events, notifications } = rig();
    watchdog.start();
    clock.advance(300);
    watchdog.receive(Buffer.from('hi'));
    clock.advance(4999);
    expect(events.of('timeout')).toHaveLength(0);
    clock.advance(1);
    expect(events.of('timeout')).toEqual([{ event: 'timeout', watchdog: 'awd1', silentMs: 5000, lateMs: 0 }]);
    clock.advance(60_000);
    expect(events.of('timeout')).toHaveLength(1);
    await flush();
    expect(notifications.count).toBe(1);
    expect(events.of('notified')).toHaveLength(1);
  });

  it('re-arms on the next input, emits recovered, and fires again on the next outage', () => {
    const { clock, watchdog, events } = rig();
    watchdog.start();
    watchdog.receive(Buffer.from('a'));
    clock.advance(5000);
    clock.advance(2000);
    watchdog.receive(Buffer.from('b'));
    expect(events.of('recovered')).toEqual([{ event: 'recovered', watchdog: 'awd1', outageMs: 2000 }]);
    clock.advance(5000);
    expect(events.of('timeout')).toHaveLength(2);
  });

  it('never fires before the first input (patch rule) unless arm_at_start', () => {
    const a = rig();
    a.watchdog.start();
    a.clock.advance(60_000);
    expect(a.events.of('timeout')).toHaveLength(0);
    const b = rig({ armAtStart: true });
    b.watchdog.start();
    b.clock.advance(5000);
    expect(b.events.of('timeout')).toHaveLength(1);
  });

  it('steady input keeps it quiet; one timer only; close leaves no timers', async () => {
    const { clock, watchdog, events } = rig({ pulse: 1000, timeout: 2000 });
    watchdog.start();
    for (let i = 0; i < 100; i++) {
      watchdog.receive(Buffer.from('x'));
      expect(clock.pendingTimers).toBe(1);
      clock.advance(1500);
    }
    expect(events.of('timeout')).toHaveLength(0);
    await watchdog.close();
    expect(clock.pendingTimers).toBe(0);
    expect(watchdog.state.kind).toBe('stopped');
    await watchdog.close();
  });

  it('fires on time even when the pending timer was set for a later pulse', () => {
    const { clock, watchdog, events } = rig({ pulse: 60_000, timeout: 100 });
    watchdog.start();
    watchdog.receive(Buffer.from('x'));
    clock.advance(100);
    expect(events.of('timeout')[0]?.lateMs).toBe(0);
  });

  it('server=off answers each received frame with a reply pulse, but never a reply with a reply', () => {
    const { watchdog, written } = rig({ input: 'frame', server: false });
    watchdog.start();
    watchdog.receive(Buffer.concat([PULSE_FRAME, frame('hello')]));
    expect(written).toEqual([REPLY_FRAME, REPLY_FRAME]);
    watchdog.receive(REPLY_FRAME);
    expect(written).toHaveLength(2);
  });

  it('server=on never replies', () => {
    const { watchdog, written } = rig({ input: 'frame', server: true });
    watchdog.start();
    watchdog.receive(PULSE_FRAME);
    expect(written).toHaveLength(0);
  });

  it('input=frame: raw text does not refresh the timer, a complete frame does', () => {
    const { clock, watchdog, events } = rig({ input: 'frame', timeout: 1000, armAtStart: true });
    watchdog.start();
    clock.advance(900);
    watchdog.receive(Buffer.from('hello\n'));
    clock.advance(100);
    expect(events.of('timeout')).toHaveLength(1);
    watchdog.disconnected();
    watchdog.receive(frame('ok'));
    expect(events.of('recovered')).toHaveLength(1);
  });

  it('input=watchdog1 pulses WATCHDOG=1 lines and counts only exact keep-alives', () => {
    const { clock, watchdog, written, events } = rig({ input: 'watchdog1', timeout: 1000, armAtStart: true, pulse: 500 });
    watchdog.start();
    clock.advance(500);
    expect(written).toEqual([WATCHDOG1_LINE]);
    clock.advance(400);
    watchdog.receive(Buffer.from('WATCHDOG=0\nhello\n'));
    clock.advance(100);
    expect(events.of('timeout')).toHaveLength(1);
    watchdog.receive(Buffer.from('WATCHDOG=1\n'));
    expect(events.of('recovered')).toHaveLength(1);
  });

  it('a failed notification is reported as notify-failed with its reason', async () => {
    const { clock, watchdog, events } = rig({ ok: false, timeout: 100 });
    watchdog.start();
    watchdog.receive(Buffer.from('x'));
    clock.advance(100);
    await flush();
    expect(events.of('notify-failed')).toEqual([
      { event: 'notify-failed', watchdog: 'awd1', mode: 'hmp', attempts: 4, commands: [], reason: 'connect ECONNREFUSED' },
    ]);
  });

  it('notifications run one at a time; at most one more is queued', async () => {
    const { clock, watchdog, notifications } = rig({ hold: true, timeout: 100 });
    watchdog.start();
    for (let i = 0; i < 4; i++) {
      watchdog.receive(Buffer.from('x'));
      clock.advance(100);
      await flush();
    }
    expect(notifications.count).toBe(1);
    notifications.release();
    await flush();
    await flush();
    expect(notifications.count).toBe(2);
    notifications.release();
    const closed = watchdog.close();
    await closed;
    expect(notifications.count).toBe(2);
  });
});

describe('Watchdog after awd itself stalled (issue 13)', () => {
  it('input that waited in the socket during the stall is read before deciding: no firing, the stall is counted', () => {
    const { clock, watchdog, unread, events } = rig({ pulse: 1000, timeout: 5000 });
    watchdog.start();
    watchdog.receive(Buffer.from('beat'));
    clock.advance(500);
    clock.stall(7000); // SIGSTOP for 7 s while the guest beat every second
    unread.push(Buffer.from('beat'), Buffer.from('beat'));
    clock.advance(0); // SIGCONT: the overdue timer runs first
    expect(events.of('timeout')).toEqual([]);
    expect(watchdog.state).toMatchObject({ kind: 'armed', lastInputAt: 7500, deadline: 12_500 });
    expect(watchdog.toJSON()).toMatchObject({ stalls: 1, spared: 1, timeouts: 0 });
    clock.advance(4999);
    expect(events.of('timeout')).toEqual([]);
  });

  it('the same stall with nothing waiting: fires, and the timeout event says awd stalled', () => {
    const { clock, watchdog, events } = rig({ pulse: 1000, timeout: 5000 });
    watchdog.start();
    watchdog.receive(Buffer.from('beat'));
    clock.advance(500);
    clock.stall(7000);
    clock.advance(0);
    expect(events.of('timeout')).toEqual([{ event: 'timeout', watchdog: 'awd1', silentMs: 7500, lateMs: 2500, stallMs: 6500 }]);
  });

  it('input that arrives in the second chance after a stall still counts', () => {
    const { clock, watchdog, unread, events } = rig({ pulse: 60_000, timeout: 1000 });
    watchdog.start();
    watchdog.receive(Buffer.from('beat'));
    clock.stall(3000);
    // Nothing waiting at the first drain; the bytes show up for the second one.
    clock.setTimeout(() => unread.push(Buffer.from('late beat')), 0);
    clock.advance(0);
    expect(events.of('timeout')).toEqual([]);
    expect(watchdog.state.kind).toBe('armed');
  });

  it('a timer that is merely on time also lets waiting input in before firing, without calling it a stall', () => {
    const { clock, watchdog, unread, events } = rig({ pulse: 60_000, timeout: 1000 });
    watchdog.start();
    watchdog.receive(Buffer.from('beat'));
    unread.push(Buffer.from('beat')); // arrived in the same loop turn as the deadline
    clock.advance(1000);
    expect(events.of('timeout')).toEqual([]);
    expect(watchdog.toJSON()).toMatchObject({ stalls: 0, spared: 1 });
  });
});

describe('Watchdog re-entrancy', () => {
  it('a sink that closes the watchdog on timeout leaves no timer behind', async () => {
    const clock = new ManualClock();
    const watchdog: Watchdog = new Watchdog({
      id: 'w',
      policy: { pulseIntervalMs: 3_600_000, timeoutMs: 50, armAtStart: false, stallThresholdMs: 500 },
      afterPendingIo: (fn) => clock.setTimeout(fn, 0),
      input: 'any',
      server: true,
      clock,
      log: silentLog,
      port: { write: () => true },
      events: { emit: (e) => void (e.event === 'timeout' && watchdog.close()) },
      notify: () => Promise.resolve({ ok: true, mode: 'raw', attempts: 1, commands: [] }),
    });
    watchdog.start();
    watchdog.receive(Buffer.from('x'));
    clock.advance(50);
    await flush();
    expect(watchdog.state.kind).toBe('stopped');
    expect(clock.pendingTimers).toBe(0);
  });
});
