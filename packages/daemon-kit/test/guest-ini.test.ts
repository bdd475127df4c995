/** The guest.ini sections shared by guest-server and guest-agent. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GuestIniDebugSection, GuestIniTimeoutsSection, iniSchemaError, logLevelFromDebug, parseIni } from '../src/index.js';

const Doc = z.strictObject({ debug: GuestIniDebugSection.optional(), timeouts: GuestIniTimeoutsSection.optional() });

describe('guest.ini shared sections', () => {
  it('reads the shipped [debug] and [timeouts] keys', () => {
    const doc = Doc.parse(parseIni('[timeouts]\nstart_delay = 1\n[debug]\ndebug_fsm = 0\nflush = 1\nflush_thld = 5\n'));
    expect(doc.timeouts?.start_delay).toBe(1);
    expect(logLevelFromDebug(doc.debug)).toBeUndefined();
  });

  it('derives the log level: log_level first, then any debug_* flag above 0', () => {
    expect(logLevelFromDebug(Doc.parse(parseIni('[debug]\ndebug_msg = 2\n')).debug)).toBe('debug');
    expect(logLevelFromDebug(Doc.parse(parseIni('[debug]\ndebug_msg = 2\nlog_level = warn\n')).debug)).toBe('warn');
    expect(logLevelFromDebug(undefined)).toBeUndefined();
  });

  it.each([
    ['[debug]\nloud = 1\n', '[debug] loud', 'unknown key'],
    ['[other]\nx = 1\n', '[other]', 'unknown section'],
    ['[debug]\nlog_level = loud\n', '[debug] log_level', ''],
    ['[timeouts]\nstart_delay = soon\n', '[timeouts] start_delay', ''],
  ])('%j is an error naming %s', (text, key, detail) => {
    const result = Doc.safeParse(parseIni(text));
    expect(result.success).toBe(false);
    if (result.success) return;
    const err = iniSchemaError(result.error);
    expect(err).toMatchObject({ code: 'KIT_ERR_CONFIG_INVALID', key });
    expect(err.message).toContain(detail);
  });
});
