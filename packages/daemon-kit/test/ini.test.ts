/** The INI reader for guest.ini (daemons §7.1) and the zod helpers that type its values. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONFIG_EXIT_CODE, ConfigError, configErrorFromZod, iniBool, iniInt, iniKeyName, iniString, iniUrl, LOG_LEVELS, parseIni,
} from '../src/index.js';

/** The shipped guest.ini (daemons §7.1), as installed at /etc/mtc/guestServer.ini. */
const SHIPPED = `; guest heartbeat configuration
[agent]
rx_port = 2401               ; agent UDP rx port
vim_cmd_port = 2410
hbs_failure_threshold = 1

[client]
rx_port = 2411
hbs_failure_threshold = 1
hbs_pulse_period = 400

[timeouts]
start_delay = 1

[debug]
debug_timer = 0
debug_all = 0
flush = 1
flush_thld = 5
`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseIni', () => {
  it('reads the shipped guest.ini into sections of strings', () => {
    const doc = parseIni(SHIPPED);
    expect(doc['agent']).toEqual({ rx_port: '2401', vim_cmd_port: '2410', hbs_failure_threshold: '1' });
    expect(doc['client']?.['hbs_pulse_period']).toBe('400');
    expect(doc['debug']?.['flush_thld']).toBe('5');
    expect(Object.keys(doc)).toEqual(['agent', 'client', 'timeouts', 'debug']);
  });

  it('puts keys before any section into section ""', () => {
    expect(parseIni('a = 1\n[s]\nb=2')).toEqual({ '': { a: '1' }, s: { b: '2' } });
  });

  it('skips blank lines and ; or # comments, accepts CRLF and blanks around names', () => {
    expect(parseIni('# c\r\n;c\r\n\r\n[ sec ]\r\n  key  =  value  \r\n')).toEqual({ sec: { key: 'value' } });
  });

  it('strips an inline comment after a blank, but keeps ; and # inside a value', () => {
    expect(parseIni('[s]\na = x ; comment\nb = x # c\nc = http://h/#frag\nd = a;b')).toEqual({
      s: { a: 'x', b: 'x', c: 'http://h/#frag', d: 'a;b' },
    });
  });

  it('unquotes "…" and \'…\' values, keeping comment characters inside them', () => {
    expect(parseIni(`[s]\na = "x ; y"\nb = 'z # w' ; note\nc = "q" # note\nd = ""\ne = "unbalanced`)).toEqual({
      s: { a: 'x ; y', b: 'z # w', c: 'q', d: '', e: '"unbalanced' },
    });
  });

  it('keeps a quoted value followed by other text as written', () => {
    expect(parseIni('[s]\na = "x" y')).toEqual({ s: { a: '"x" y' } });
  });

  it('allows empty values and "=" inside values; the last duplicate wins', () => {
    expect(parseIni('[s]\na =\nb = x=y\na = 2')).toEqual({ s: { a: '2', b: 'x=y' } });
  });

  it('merges a section that appears twice', () => {
    expect(parseIni('[s]\na=1\n[t]\n[s]\nb=2')).toEqual({ s: { a: '1', b: '2' }, t: {} });
  });

  it('is safe against __proto__ keys and sections', () => {
    const doc = parseIni('[__proto__]\npolluted = yes\n[s]\n__proto__ = x');
    expect(doc['__proto__']?.['polluted']).toBe('yes');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(doc['s']?.['__proto__']).toBe('x');
  });

  it('throws a ConfigError naming the source and line of a line without "="', () => {
    const err = configError(() => parseIni('[s]\na = 1\njunk line', '/etc/mtc/guestServer.ini'));
    expect(err.key).toBe('/etc/mtc/guestServer.ini:3');
    expect(err.code).toBe('KIT_ERR_CONFIG_INVALID');
    expect(err.message).toContain('junk line');
  });

  it('refuses a line starting with "=" and names "config" by default', () => {
    expect(configError(() => parseIni('= 5')).key).toBe('config:1');
  });
});

describe('iniInt', () => {
  const port = iniInt(1, 65535);

  it.each([['2411', 2411], ['1', 1], ['65535', 65535], ['-0', -0]])('reads %s', (text, value) => {
    expect(iniInt(-1, 65535).parse(text)).toBe(value);
  });

  it.each([['0'], ['65536'], ['24x'], ['2.5'], [''], ['0x10'], [' 1'], ['1e3']])('refuses %j', (text) => {
    expect(port.safeParse(text).success).toBe(false);
  });

  it('says why in the message', () => {
    expect(port.safeParse('70000').error?.issues[0]?.message).toBe('must be ≤ 65535');
    expect(port.safeParse('0').error?.issues[0]?.message).toBe('must be ≥ 1');
    expect(port.safeParse('x').error?.issues[0]?.message).toBe('expected an integer');
  });
});

describe('iniBool', () => {
  it.each([['1', true], ['true', true], ['YES', true], ['on', true], ['Enabled', true], ['0', false], ['false', false], ['No', false], ['off', false], ['disabled', false]])(
    'reads %s as %s',
    (text, value) => {
      expect(iniBool().parse(text)).toBe(value);
    },
  );

  it.each([['2'], [''], ['y'], ['maybe']])('refuses %j', (text) => {
    expect(iniBool().safeParse(text).success).toBe(false);
  });
});

describe('iniString and iniUrl', () => {
  it('refuses an empty string', () => {
    expect(iniString().parse('x')).toBe('x');
    expect(iniString().safeParse('').success).toBe(false);
  });

  it('accepts http and https URLs only', () => {
    expect(iniUrl().parse('http://127.0.0.1:30002')).toBe('http://127.0.0.1:30002');
    expect(iniUrl().parse('https://vim.example/v1')).toBe('https://vim.example/v1');
    for (const bad of ['ftp://h/', 'localhost:30002', '', 'http//x']) expect(iniUrl().safeParse(bad).success).toBe(false);
  });
});

describe('ConfigError and configErrorFromZod', () => {
  const schema = z.strictObject({
    client: z.strictObject({ rx_port: iniInt(1, 65535), hbs_pulse_period: iniInt(1, 60_000) }),
  });

  it('names the INI key of the first issue: "[client] rx_port"', () => {
    const result = schema.safeParse({ client: { rx_port: '99999', hbs_pulse_period: '400' } });
    expect(result.success).toBe(false);
    const err = configErrorFromZod(result.error as z.ZodError, iniKeyName);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.key).toBe('[client] rx_port');
    expect(err.message).toBe('[client] rx_port: must be ≤ 65535');
    expect(err.cause).toBe(result.error);
    expect(err.name).toBe('ConfigError');
  });

  it('names a missing section', () => {
    const result = schema.safeParse({});
    expect(configErrorFromZod(result.error as z.ZodError, iniKeyName).key).toBe('[client]');
  });

  it('falls back to "config" when zod reports no issue or no path', () => {
    expect(configErrorFromZod(new z.ZodError([]), iniKeyName).message).toBe('config: invalid');
    expect(iniKeyName([])).toBe('config');
  });

  it('takes another path naming for command-line flags', () => {
    const flags = z.object({ port: z.number() }).safeParse({ port: 'x' });
    const err = configErrorFromZod(flags.error as z.ZodError, (path) => `--${String(path[0])}`);
    expect(err.key).toBe('--port');
  });

  it('exits with code 2 (DESIGN.md §5)', () => {
    expect(CONFIG_EXIT_CODE).toBe(2);
  });

  it('lists the pino log levels', () => {
    expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
  });
});
