import { describe, expect, it } from 'vitest';
import { formatRecord, formatRows } from '../src/format.js';

const rows = [{ uuid: 'a', state: 'healthy', misses: 0 }, { uuid: 'bb', state: 'failed', misses: null }];

describe('guestctl output formats', () => {
  it('table: aligned columns under a header, null as "-"', () => {
    expect(formatRows(rows, ['uuid', 'state', 'misses'], 'table')).toBe([
      '+------+---------+--------+',
      '| uuid | state   | misses |',
      '+------+---------+--------+',
      '| a    | healthy | 0      |',
      '| bb   | failed  | -      |',
      '+------+---------+--------+',
      '',
    ].join('\n'));
  });

  it('value: values only, one row per line, restricted to the chosen columns', () => {
    expect(formatRows(rows, ['uuid', 'state', 'misses'], 'value', ['state', 'uuid'])).toBe('healthy a\nfailed bb\n');
    expect(formatRows([], ['uuid'], 'value')).toBe('');
  });

  it('json: the records as an array; a record as an object', () => {
    expect(JSON.parse(formatRows(rows, ['uuid', 'misses'], 'json'))).toEqual([{ uuid: 'a', misses: 0 }, { uuid: 'bb', misses: null }]);
    expect(JSON.parse(formatRecord({ uuid: 'a', state: 'failed' }, 'json', ['state']))).toEqual({ state: 'failed' });
  });

  it('a record in a table is Field/Value lines; newlines in values cannot break the layout', () => {
    expect(formatRecord({ uuid: 'a', detail: 'x\ny' }, 'table')).toContain('| detail | x y   |');
    expect(formatRecord({ uuid: 'a' }, 'value')).toBe('a\n');
  });
});
