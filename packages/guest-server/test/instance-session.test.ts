/** The session driver with a ManualClock and an in-memory connector: one timer, exact schedule, no leaks. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { HOST_TO_GUEST_TYPES, ManualClock, WireDecoder, encodeMessage, type WireMessage } from '@guesthb/protocol';
import type { ChannelConnector, ChannelHandlers, Report } from '../src/index.js';
import { InstanceSession, encodeChallenge } from '../src/instance-session.js';
import { policy } from './helpers/machine.js';

const UUID = '11111111-2222-3333-4444-555555555555';

function setup(): { session: InstanceSession; clock: ManualClock; sent: WireMessage[]; reports: Report[]; handlers: () => ChannelHandlers; connects: string[] } {
  const clock = new ManualClock(1000);
  const sent: WireMessage[] = [];
  const reports: Report[] = [];
  const connects: string[] = [];
  let current: ChannelHandlers | undefined;
  const decoder = new WireDecoder(HOST_TO_GUEST_TYPES);
  const connect: ChannelConnector = (path, h) => {
    connects.push(path);
    current = h;
    return {
      write: (data) => { for (const r of decoder.push(data)) if (r.ok) sent.push(r.message); return true; },
      destroy: () => undefined,
    };
  };
  const session = new InstanceSession({
    uuid: UUID, clock, log: pino({ level: 'silent' }), policy: () => policy({ pulsePeriodMs: 400 }), connect,
    metrics: { count: () => undefined, observeLatencyMs: () => undefined, observeLatenessMs: () => undefined },
    onReport: (_s, r) => reports.push(r), onGone: () => undefined,
  });
  return { session, clock, sent, reports, connects, handlers: () => { if (current === undefined) throw new Error('not connected'); return current; } };
}

function init(intervalMs: number): Buffer {
  return encodeMessage({
    msg_type: 'init', sequence: 1, invocation_id: 5, name: 'vm', heartbeat_interval_ms: intervalMs, vote_secs: 1,
    shutdown_notice_secs: 1, suspend_notice_secs: 1, resume_notice_secs: 1, restart_secs: 1, corrective_action: 'log',
  });
}

describe('InstanceSession', () => {
  it('the challenge fast path is byte-identical to encodeMessage', () => {
    for (const [seq, value] of [[1, 0], [2, 2_147_483_647], [123_456, 42]] as const) {
      expect(encodeChallenge(seq, value).equals(encodeMessage({ msg_type: 'challenge', sequence: seq, heartbeat_challenge: value }))).toBe(true);
    }
  });

  it('challenges exactly every interval from the first, with one timer; loss at (threshold + 1) × interval', () => {
    const { session, clock, sent, reports, handlers } = setup();
    session.channelFound('/x/cgcs.heartbeat.sock');
    handlers().onConnect();
    handlers().onData(init(400));
    expect(sent.map((m) => m.msg_type)).toEqual(['init_ack', 'challenge']);
    expect(clock.pendingTimers).toBe(1);
    const challengeTimes: number[] = [];
    const answer = (): void => {
      const last = sent.at(-1);
      if (last?.msg_type !== 'challenge') throw new Error('no challenge');
      challengeTimes.push(clock.now());
      handlers().onData(encodeMessage({ msg_type: 'challenge_response', sequence: 2, heartbeat_response: last.heartbeat_challenge, heartbeat_health: 'healthy', corrective_action: 'log', log_msg: '' }));
    };
    answer();
    for (let i = 0; i < 5; i++) {
      clock.advance(400);
      answer();
      expect(clock.pendingTimers).toBe(1);
    }
    expect(challengeTimes).toEqual([1000, 1400, 1800, 2200, 2600, 3000]);
    expect(reports).toEqual([{ kind: 'running' }]);
    clock.advance(400);   // challenge at 3400, unanswered
    clock.advance(400);   // miss 1 at 3800
    expect(reports).toHaveLength(1);
    clock.advance(400);   // miss 2 at 4200 > threshold 1: loss
    expect(reports).toEqual([{ kind: 'running' }, { kind: 'stopped', reason: 'loss' }]);
    session.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a disconnect backs off on its one timer and reconnects to the same path; close leaves no timer', () => {
    const { session, clock, connects, handlers } = setup();
    session.channelFound('/x/a.sock');
    handlers().onConnect();
    handlers().onClose('ECONNRESET');
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999);
    expect(connects).toHaveLength(1);
    clock.advance(1);
    expect(connects).toEqual(['/x/a.sock', '/x/a.sock']);
    handlers().onClose('ECONNREFUSED');   // failed attempt: 2 s
    clock.advance(2000);
    expect(connects).toHaveLength(3);
    session.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('ENOENT on connect means the channel is gone', () => {
    const { session, handlers } = setup();
    session.channelFound('/x/a.sock');
    handlers().onClose('ENOENT');
    expect(session.channelPath).toBeUndefined();
    expect(session.state.link.kind).toBe('no-channel');
  });

  it('a message split across reads is reassembled (daemons §9 item 4)', () => {
    const { session, sent, handlers } = setup();
    session.channelFound('/x/a.sock');
    handlers().onConnect();
    const bytes = init(1000);
    for (let i = 0; i < bytes.length; i += 7) handlers().onData(bytes.subarray(i, i + 7));
    expect(sent.map((m) => m.msg_type)).toEqual(['init_ack', 'challenge']);
  });
});
