/** guest_heartbeat.conf parsing (client §11): defaults, syntax, validation naming the key. */
import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@guesthb/protocol';
import { DEFAULT_CLIENT_CONFIG, GlibcRandom, challengeTimeoutMs, parseClientConfig } from '../src/index.js';

const SHIPPED = `
## Guest heartbeat configuration (the shipped file)
HB_INTERVAL=1000
CORRECTIVE_ACTION="reboot"
VOTE=8
SHUTDOWN_NOTICE=8
SUSPEND_NOTICE=8
RESUME_NOTICE=13
RESTART=600
HEALTH_CHECK_INTERVAL=30
HEALTH_CHECK_SCRIPT="/etc/guest-client/heartbeat/sample_health_check_script"
EVENT_NOTIFICATION_SCRIPT='/etc/guest-client/heartbeat/sample_event_handling_script'
`;

describe('parseClientConfig', () => {
  it('has the compiled defaults for an empty file', () => {
    expect(parseClientConfig('')).toEqual(DEFAULT_CLIENT_CONFIG);
    expect(DEFAULT_CLIENT_CONFIG).toMatchObject({ initRetryMs: 5000, minTimeoutMs: 5000, heartbeatIntervalMs: 1000, voteSecs: 10, restartSecs: 120, correctiveAction: 'reboot', healthCheckIntervalSecs: 0 });
  });

  it('reads the shipped file, stripping quotes, blanks and comments', () => {
    expect(parseClientConfig(SHIPPED)).toEqual({
      ...DEFAULT_CLIENT_CONFIG, voteSecs: 8, shutdownNoticeSecs: 8, suspendNoticeSecs: 8, resumeNoticeSecs: 13, restartSecs: 600,
      healthCheckIntervalSecs: 30, healthCheckScript: '/etc/guest-client/heartbeat/sample_health_check_script',
      eventNotificationScript: '/etc/guest-client/heartbeat/sample_event_handling_script',
    });
  });

  it('reads HB_INIT_RETRY and HB_MIN_TIMEOUT and derives the challenge timeout', () => {
    const c = parseClientConfig('  HB_INIT_RETRY = 2000 \r\nHB_MIN_TIMEOUT=1000\nHB_INTERVAL=400\n');
    expect(c).toMatchObject({ initRetryMs: 2000, minTimeoutMs: 1000, heartbeatIntervalMs: 400 });
    expect(challengeTimeoutMs(c)).toBe(1000);
    expect(challengeTimeoutMs(DEFAULT_CLIENT_CONFIG)).toBe(5000);
  });

  it.each([
    ['HB_INTERVAL=399', 'HB_INTERVAL', '400'],
    ['HB_INTERVAL=1s', 'HB_INTERVAL', 'integer'],
    ['VOTE=-1', 'VOTE', 'integer'],
    ['CORRECTIVE_ACTION=none', 'CORRECTIVE_ACTION', 'reboot, stop or log'],
    ['HEALTH_CHECK_INTERVAL=', 'HEALTH_CHECK_INTERVAL', 'integer'],
    ['HB_INTERVL=1000', 'HB_INTERVL', 'unknown key'],
  ])('refuses %s, naming the key', (line, key, detail) => {
    let error: unknown;
    try {
      parseClientConfig(line, 'hb.conf');
    } catch (err) {
      error = err;
    }
    expect(hasErrorCode(error, 'KIT_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(`hb.conf ${key}`);
    expect((error as Error).message).toContain(detail);
  });

  it('refuses a line without "=" naming the line', () => {
    expect(() => parseClientConfig('HB_INTERVAL=1000\nnonsense', 'hb.conf')).toThrow(/hb\.conf:2/);
  });
});

describe('GlibcRandom', () => {
  it('reproduces the unseeded rand() sequence of the reference client (client §4.1)', () => {
    const r = new GlibcRandom();
    expect([r.next(), r.next(), r.next(), r.next()]).toEqual([1804289383, 846930886, 1681692777, 1714636915]);
  });
});
