/**
 * Per-guest budgets in the session driver (issue 11 item 4), with a ManualClock and an in-memory channel:
 * excess lines and inits are dropped and counted, reading pauses and resumes, and an instance's log lines
 * are limited with one summary line.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { HOST_TO_GUEST_TYPES, ManualClock, WireDecoder, encodeMessage, type WireMessage } from '@guesthb/protocol';
import type { ChannelConnector, ChannelHandlers } from '../src/index.js';
import { DEFAULT_GUEST_BUDGET, type BudgetDropKind } from '../src/guest-budget.js';
import { InstanceSession } from '../src/instance-session.js';
import { policy } from './helpers/machine.js';

function setup(budget = DEFAULT_GUEST_BUDGET) {
  const clock = new ManualClock(1000);
  const sent: WireMessage[] = [];
  const drops = new Map<BudgetDropKind, number>();
  const lines: { msg: string; suppressed?: number }[] = [];
  const paused: boolean[] = [];
  let current: ChannelHandlers | undefined;
  const decoder = new WireDecoder(HOST_TO_GUEST_TYPES);
  const connect: ChannelConnector = (_path, h) => {
    current = h;
    return {
      write: (data) => { for (const r of decoder.push(data)) if (r.ok) sent.push(r.message); return true; },
      destroy: () => undefined,
      pause: () => paused.push(true),
      resume: () => paused.push(false),
    };
  };
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => { lines.push(JSON.parse(chunk.toString()) as { msg: string }); done(); } }));
  const session = new InstanceSession({
    uuid: '11111111-2222-3333-4444-555555555555', clock, log, policy: () => policy({ pulsePeriodMs: 400 }), connect, budget,
    metrics: { count: () => undefined, observeLatencyMs: () => undefined, observeLatenessMs: () => undefined, budgetDrop: (k, n = 1) => drops.set(k, (drops.get(k) ?? 0) + n) },
    onReport: () => undefined, onGone: () => undefined,
  });
  session.channelFound('/x/cgcs.heartbeat.sock');
  const h = (): ChannelHandlers => { if (current === undefined) throw new Error('not connected'); return current; };
  h().onConnect();
  return { session, clock, sent, drops, lines, paused, h };
}

const init = (id: number): Buffer => encodeMessage({
  msg_type: 'init', sequence: 1, invocation_id: id, name: 'vm', heartbeat_interval_ms: 400, vote_secs: 1,
  shutdown_notice_secs: 1, suspend_notice_secs: 1, resume_notice_secs: 1, restart_secs: 1, corrective_action: 'log',
});

describe('per-guest budgets', () => {
  it('garbage beyond the message rate is dropped undecoded, counted, and reading pauses until the refill', () => {
    const { session, clock, sent, drops, paused, h } = setup();
    const timers = clock.pendingTimers;   // the session's own (the wait for init)
    h().onData(Buffer.from('\n{not json}\n'.repeat(1000)));
    // The burst (100 lines) was decoded; the rest was dropped without framing (counted once per drop).
    expect(drops.get('messages')).toBeGreaterThanOrEqual(1);
    expect(paused).toEqual([true]);
    expect(clock.pendingTimers).toBe(timers + 1);   // plus the resume timer
    clock.advance(1_000);
    expect(paused).toEqual([true, false]);
    h().onData(init(1));
    expect(sent.map((m) => m.msg_type)).toEqual(['init_ack', 'challenge']);
    session.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a re-initialisation loop: the burst is acked, the rest dropped and counted', () => {
    const { session, sent, drops, h } = setup();
    for (let i = 1; i <= 20; i++) h().onData(init(i));
    expect(sent.filter((m) => m.msg_type === 'init_ack')).toHaveLength(DEFAULT_GUEST_BUDGET.initsBurst);
    expect(drops.get('reinit')).toBe(20 - DEFAULT_GUEST_BUDGET.initsBurst);
    session.close();
  });

  it('byte-at-a-time reads beyond the read rate pause reading; the message still decodes', () => {
    const { session, clock, sent, drops, paused, h } = setup({ ...DEFAULT_GUEST_BUDGET, readsBurst: 10, readsPerSec: 100 });
    const bytes = init(1);
    for (const byte of bytes) h().onData(Buffer.from([byte]));
    expect(drops.get('reads')).toBeGreaterThanOrEqual(1);
    expect(paused[0]).toBe(true);
    expect(sent.map((m) => m.msg_type)).toContain('init_ack');
    clock.advance(1_000);
    expect(paused.at(-1)).toBe(false);
    session.close();
  });

  it('an instance logs its burst, then one summary line per period instead of a line per event', () => {
    const { session, clock, lines, h } = setup({ ...DEFAULT_GUEST_BUDGET, initsBurst: 1000, initsPerMin: 60_000, messagesBurst: 1000, messagesPerSec: 1000 });
    h().onData(init(1));
    for (let i = 2; i <= 200; i++) {
      clock.advance(10);
      h().onData(init(i));   // each a 'guest re-initialised' info line
    }
    const reinit = lines.filter((l) => l.msg === 'guest re-initialised');
    expect(reinit.length).toBeLessThanOrEqual(DEFAULT_GUEST_BUDGET.logBurst + 1);
    clock.advance(DEFAULT_GUEST_BUDGET.logSummaryPeriodMs);
    h().onData(init(500));
    const summaries = lines.filter((l) => l.msg === 'log lines suppressed by the per-instance rate limit');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.suppressed).toBeGreaterThan(150);
    session.close();
  });
});
