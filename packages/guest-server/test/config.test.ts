/** Config: guest.ini keys (daemons §7.1), new [client] keys, CLI overrides, exit-code-2 errors naming the key. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@guesthb/protocol';
import { buildConfig, parseCliArgs, type CliOptions } from '../src/index.js';

/** The original guest.ini (test/fixtures/stx-guest.ini), plus a key of the agent's section this daemon must ignore. */
const SHIPPED = readFileSync(new URL('../../../test/fixtures/stx-guest.ini', import.meta.url), 'utf8') + '\n[agent]\nsome_future_agent_key = x\n';

function build(iniText: string | undefined, cli: CliOptions = {}): ReturnType<typeof buildConfig> {
  return buildConfig({ iniText, cli, osHostname: 'os-host' });
}

function errorOf(fn: () => unknown): { key: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(hasErrorCode(err, 'KIT_ERR_CONFIG_INVALID')).toBe(true);
    return err as { key: string; message: string };
  }
  throw new Error('expected a ConfigError');
}

describe('guest.ini', () => {
  it('reads the shipped file: original keys, [agent] ignored, defaults for the new keys', () => {
    const c = build(SHIPPED);
    expect(c).toMatchObject({
      rxPort: 2411, hostname: 'os-host', agentUrl: 'http://controller:2401', channelDir: '/var/lib/libvirt/qemu',
      searchAuditSecs: 180, tokenFile: undefined, heartbeat: { failureThreshold: 1, pulsePeriodMs: 400 }, logLevel: 'info',
      advertiseUrl: undefined, bindAddress: '0.0.0.0', maxInstances: 10_000, outboxMaxEvents: 10_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the new [client] keys', () => {
    const c = build(`[client]\nchannel_dir = /tmp/ch\nhostname = compute-7\nagent_url = http://10.0.0.2:2401/\nadvertise_url = http://10.0.0.7:2411\nsearch_audit_secs = 30\ntoken_file = /etc/guest/token\nhbs_failure_threshold = 3\nhbs_pulse_period = 100\n`);
    expect(c).toMatchObject({
      channelDir: '/tmp/ch', hostname: 'compute-7', agentUrl: 'http://10.0.0.2:2401', advertiseUrl: 'http://10.0.0.7:2411',
      searchAuditSecs: 30, tokenFile: '/etc/guest/token', heartbeat: { failureThreshold: 3, pulsePeriodMs: 100 },
    });
  });

  it('absent keys take documented defaults (threshold 1, pulse 400), not the original 0', () => {
    expect(build('[client]\n').heartbeat).toEqual({ failureThreshold: 1, pulsePeriodMs: 400 });
    expect(build(undefined).rxPort).toBe(2411);
  });

  it('any debug_* above 0 means log level debug; --log-level wins', () => {
    expect(build('[debug]\ndebug_fsm = 1\n').logLevel).toBe('debug');
    expect(build('[debug]\ndebug_fsm = 1\n', { logLevel: 'warn' }).logLevel).toBe('warn');
  });

  it.each([
    ['[client]\nfoo = 1\n', '[client] foo'],
    ['[client]\nrx_port = abc\n', '[client] rx_port'],
    ['[client]\nrx_port = 70000\n', '[client] rx_port'],
    ['[client]\nhbs_pulse_period = 0\n', '[client] hbs_pulse_period'],
    ['[client]\nagent_url = ftp://x\n', '[client] agent_url'],
    ['[timeouts]\nfoo = 1\n', '[timeouts] foo'],
    ['[debug]\ndebug_fsm = yes\n', '[debug] debug_fsm'],
    ['[mystery]\nx = 1\n', '[mystery]'],
    ['x = 1\n', 'x'],
  ])('rejects %j naming %s', (ini, key) => {
    expect(errorOf(() => build(ini)).key).toBe(key);
  });
});

describe('command line', () => {
  it('parses every flag; flags override the file', () => {
    const cli = parseCliArgs(['--config', '/etc/mtc/guest.ini', '--channel-dir', '/d', '--agent-url', 'http://a:1', '--port', '0', '--hostname', 'h1', '--pidfile', '/run/gs.pid', '--log-level', 'debug']);
    expect(cli).toEqual({ config: '/etc/mtc/guest.ini', channelDir: '/d', agentUrl: 'http://a:1', port: 0, hostname: 'h1', pidfile: '/run/gs.pid', logLevel: 'debug' });
    const c = build('[client]\nrx_port = 2411\nchannel_dir = /x\nhostname = fileh\n', cli);
    expect(c).toMatchObject({ rxPort: 0, channelDir: '/d', hostname: 'h1', agentUrl: 'http://a:1', pidfile: '/run/gs.pid', logLevel: 'debug' });
  });

  it.each([
    [['--port', 'x'], '--port'],
    [['--agent-url', 'nope'], '--agent-url'],
    [['--log-level', 'loud'], '--log-level'],
    [['--hostname', 'bad host'], '--hostname'],
    [['--unknown'], 'command line'],
    [['positional'], 'command line'],
  ])('rejects %j naming %s', (argv, key) => {
    expect(errorOf(() => parseCliArgs(argv)).key).toBe(key);
  });
});
