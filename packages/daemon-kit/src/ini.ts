/**
 * A small INI reader for guest.ini (daemons §7.1): `[section]`, `key = value`, `;`/`#` comments,
 * optional quotes. Every value stays a string; typing is the caller's zod schema (see ini-values.ts).
 */
import { ConfigError } from './config-error.js';

export type IniDocument = Record<string, Record<string, string>>;

/** Parses INI text. Keys before any section go to section "". Throws ConfigError naming the line. */
export function parseIni(text: string, source = 'config'): IniDocument {
  const doc: IniDocument = Object.create(null) as IniDocument;
  let section = '';
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      section = header[1].trim();
      doc[section] ??= Object.create(null) as Record<string, string>;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}:${index + 1}`, `expected "key = value", got ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, eq).trim();
    const value = unquote(stripInlineComment(line.slice(eq + 1).trim()));
    const target = (doc[section] ??= Object.create(null) as Record<string, string>);
    target[key] = value;
  }
  return doc;
}

function stripInlineComment(value: string): string {
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    // A quoted value keeps ';' and '#' inside the quotes; a comment may follow the closing quote.
    const close = value.indexOf(quote, 1);
    const after = close === -1 ? '' : value.slice(close + 1).trim();
    return close !== -1 && (after === '' || after.startsWith(';') || after.startsWith('#')) ? value.slice(0, close + 1) : value;
  }
  const match = /\s[;#]/.exec(value);
  return match === null ? value : value.slice(0, match.index).trim();
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) return value.slice(1, -1);
  return value;
}
