/** Config and command line (issue 4 item 6): defaults, overrides, strict validation naming the key. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAgentArgs, parseAgentConfig } from '../src/index.js';

/** The original guest.ini (test/fixtures/stx-guest.ini): [client] belongs to guest-server. */
const SHIPPED = readFileSync(new URL('../../../test/fixtures/stx-guest.ini', import.meta.url), 'utf8');

describe('parseAgentConfig', () => {
  it('reads the shipped guest.ini, ignoring [client] and the dead keys, with the documented defaults', () => {
    expect(parseAgentConfig(SHIPPED, 'guest.ini')).toEqual({
      configPath: 'guest.ini', rxHost: '0.0.0.0', rxPort: 2401, vimCmdHost: '127.0.0.1', vimCmdPort: 2410,
      vimEventUrl: 'http://127.0.0.1:30002', auditPeriodMs: 10_000, tokenFile: undefined, pidfile: undefined, logLevel: 'info',
      stateDir: undefined, tombstoneTtlMs: 3_600_000, allowUnauthenticated: false, tokenRotationWindowMs: 600_000,
    });
  });

  it('resolves a relative token_file against the config file directory; reads the opt-out and the rotation window (issue 11 item 2)', () => {
    const c = parseAgentConfig('[agent]\ntoken_file = guest.token\nallow_unauthenticated = true\ntoken_rotation_window_secs = 30\n', '/etc/mtc/guest.ini');
    expect(c).toMatchObject({ tokenFile: '/etc/mtc/guest.token', allowUnauthenticated: true, tokenRotationWindowMs: 30_000 });
  });

  it('reads the new keys, and the command line overrides them', () => {
    const ini = '[agent]\nvim_cmd_host = 127.0.0.2\nvim_event_url = http://127.0.0.1:4000/\naudit_period_secs = 3\ntoken_file = /run/t\nrx_host = 127.0.0.1\n';
    const args = parseAgentArgs(['--config', 'x.ini', '--port', '7', '--vim-cmd-port', '8', '--vim-event-url', 'http://127.0.0.1:9', '--pidfile', '/run/p', '--log-level', 'debug']);
    expect(args.configPath).toBe('x.ini');
    expect(parseAgentConfig(ini, 'x.ini', args.overrides)).toMatchObject({
      rxHost: '127.0.0.1', rxPort: 7, vimCmdHost: '127.0.0.2', vimCmdPort: 8, vimEventUrl: 'http://127.0.0.1:9',
      auditPeriodMs: 3_000, tokenFile: '/run/t', pidfile: '/run/p', logLevel: 'debug',
    });
    expect(parseAgentConfig(ini, 'x.ini').vimEventUrl).toBe('http://127.0.0.1:4000');
  });

  it('takes the log level from [debug] (log_level over debug_* flags), and --log-level over both', () => {
    expect(parseAgentConfig('[debug]\nlog_level = warn\ndebug_fsm = 1\n', 'x.ini').logLevel).toBe('warn');
    expect(parseAgentConfig('[debug]\ndebug_fsm = 1\n', 'x.ini').logLevel).toBe('debug');
    expect(parseAgentConfig('[debug]\nlog_level = warn\n', 'x.ini', { logLevel: 'error' }).logLevel).toBe('error');
  });

  it.each([
    ['[agent]\nrx_port = 99999\n', '[agent] rx_port'],
    ['[debug]\nlog_level = loud\n', '[debug] log_level'],
    ['[agent]\nvim_cmd_port = abc\n', '[agent] vim_cmd_port'],
    ['[agent]\nvim_event_url = ftp://x\n', '[agent] vim_event_url'],
    ['[agent]\naudit_period_secs = 0\n', '[agent] audit_period_secs'],
    ['[agent]\nbogus = 1\n', '[agent] bogus'],
    ['[debug]\nverbose = 1\n', '[debug] verbose'],
    ['[extra]\nx = 1\n', '[extra]'],
    ['[agent]\nnot a key value line\n', 'x.ini:2'],
  ])('%j fails naming %s', (ini, key) => {
    expect(() => parseAgentConfig(ini, 'x.ini')).toThrow(expect.objectContaining({ code: 'KIT_ERR_CONFIG_INVALID', key }));
  });
});

describe('parseAgentArgs', () => {
  it.each([
    [['--port', 'x'], '--port'],
    [['--log-level', 'loud'], '--log-level'],
    [['--vim-event-url', 'nope'], '--vim-event-url'],
    [['--frobnicate'], '--frobnicate'],
  ])('%j fails naming %s', (argv, key) => {
    expect(() => parseAgentArgs(argv)).toThrow(expect.objectContaining({ key }));
  });

  it('defaults the config path to the original agent file', () => {
    expect(parseAgentArgs([]).configPath).toBe('/etc/mtc/guest.ini');
  });
});
