/**
 * Replays the session captured with the real StarlingX guest-client 3.0.1 (shared/spec/vectors) against
 * our client: every message it sends must equal the reference byte for byte, in order (client §4).
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock, encodeMessage, type Health } from '@guesthb/protocol';
import {
  ClientSession, GlibcRandom, parseClientConfig,
  type EventHandlerPort, type HealthCheckPort, type PartyResult,
} from '../src/index.js';

const text = readFileSync(new URL('./fixtures/guest-client-transcript.txt', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => l.startsWith('<- ') || l.startsWith('-> '));

const CONF = `
# the shipped guest_heartbeat.conf values of the capture (client §4.1)
HB_INTERVAL=1000
VOTE=8
SHUTDOWN_NOTICE=8
SUSPEND_NOTICE=8
RESUME_NOTICE=13
RESTART=600
CORRECTIVE_ACTION="reboot"
HEALTH_CHECK_INTERVAL=1
HEALTH_CHECK_SCRIPT=/etc/guest-client/heartbeat/sample_health_check_script
EVENT_NOTIFICATION_SCRIPT=/etc/guest-client/heartbeat/sample_event_handling_script
`;

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('the reference transcript', () => {
  it('is reproduced byte for byte (init, challenges, health, votes, split/odd input, re-init, exit)', async () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    let verdict: { health: Health; log: string } | undefined;
    const healthCheck: HealthCheckPort = { start: () => ({ outcome: Promise.resolve(verdict), cancel: () => undefined }) };
    // The sample event script's answers, in order; it takes a while, as the real one does (sleep 1).
    const answers: { result: PartyResult; log: string; delayMs: number }[] = [
      { result: 'accept', log: 'File /tmp/vote_no_to_stop does not exist.\n', delayMs: 1500 },
      { result: 'reject', log: 'File /tmp/vote_no_to_stop exists.\n', delayMs: 1500 },
      { result: 'accept', log: '', delayMs: 2500 },
      { result: 'accept', log: 'File /tmp/vote_no_to_migrate does not exist.\n', delayMs: 1500 },
    ];
    const eventHandler: EventHandlerPort = {
      start: () => {
        const answer = answers.shift();
        if (answer === undefined) throw new Error('unexpected action');
        return {
          outcome: new Promise((resolve) => clock.setTimeout(() => resolve(answer), answer.delayMs)),
          cancel: () => undefined,
        };
      },
    };
    const random = new GlibcRandom();
    const session = new ClientSession({
      policy: { name: 'test-vm', config: parseClientConfig(CONF), hasHealthCheck: true, hasEventHandler: true, nextInvocationId: () => random.next() },
      clock, log: pino({ level: 'silent' }), healthCheck, eventHandler,
      channel: { send: (m) => sent.push(encodeMessage(m).toString()) },
    });
    const advance = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await flush();
    };
    const challengesSent = new Set<number>();
    let split = false;
    let spaced = false;
    const sendChallenge = async (value: number): Promise<void> => {
      await advance(1000);                                   // the host challenges once per interval
      challengesSent.add(value);
      const compact = `{"version":3,"revision":1,"msg_type":"challenge","sequence":99,"heartbeat_challenge":${value}}`;
      if (split) {
        const bytes = `\n${compact}\n`;
        session.receive(Buffer.from(bytes.slice(0, 20)));
        expect(sent).toHaveLength(0);
        session.receive(Buffer.from(bytes.slice(20)));
      } else if (spaced) {
        session.receive(Buffer.from(`${compact.replace(/:/g, ': ')}\n`));   // no leading newline
      } else {
        session.receive(Buffer.from(`\n${compact}\n`));
      }
      split = false;
      spaced = false;
    };

    session.start();
    let checked = 0;
    for (const line of lines) {
      const payload = line.slice(3);
      if (line.startsWith('-> ')) {
        if (payload.startsWith('(first 20 bytes')) split = true;
        else if (payload.startsWith('challenge without leading newline')) spaced = true;
        if (!payload.startsWith('{')) continue;
        const json = payload.slice(0, payload.lastIndexOf('}') + 1);
        const message = JSON.parse(json) as Record<string, unknown>;
        if (json.includes('dropping') || message['version'] === 2) {
          session.receive(Buffer.from(`\n${json}\n`));
          continue;
        }
        if (message['msg_type'] === 'challenge') {
          if (message['heartbeat_challenge'] === 1719857393) verdict = { health: 'unhealthy', log: 'File /tmp/unhealthy exists.\n' };
          if (message['heartbeat_challenge'] === 76402920) verdict = { health: 'healthy', log: 'File /tmp/unhealthy does not exist.\n' };
          await advance(1000);
          challengesSent.add(message['heartbeat_challenge'] as number);
        }
        session.receive(Buffer.from(`\n${json}\n`));
        await flush();
        continue;
      }
      // A line the reference guest sent: take ours, driving time or the host as the capture did.
      const expected = JSON.parse(payload) as Record<string, unknown>;
      if (sent.length === 0 && expected['msg_type'] === 'challenge_response' && !challengesSent.has(expected['heartbeat_response'] as number)) {
        await sendChallenge(expected['heartbeat_response'] as number);
      }
      if (sent.length === 0 && expected['msg_type'] === 'exit') session.shutdown();
      for (let waited = 0; sent.length === 0 && waited < 10_000; waited += 100) await advance(100);
      expect(sent.shift()).toBe(`\n${payload}\n`);
      checked++;
    }
    expect(checked).toBe(34);
    expect(sent).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});
