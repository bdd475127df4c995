/**
 * opt_script, split into the commands of each notification mode (README "Notification"). Parsed once,
 * when the config is built (start-up and SIGHUP), in one linear pass; a script that does not parse is a
 * configuration error naming the line, never a surprise when the watchdog fires (issue 13).
 * HMP: one command per non-empty line, `#` lines are comments. QMP: JSON objects (one or several per
 * line, or one over several lines) are sent as they are; any other line is HMP text and is wrapped in
 * `human-monitor-command`, so one script works on both monitors. `qmp_capabilities` is skipped: the
 * notifier negotiates itself.
 */

/** The script in every form a notification may need, computed at start-up. */
export interface ParsedScript {
  /** The file as read: what `notify=raw` writes. */
  readonly text: string;
  /** HMP command lines. */
  readonly hmp: readonly string[];
  /** Compact QMP command texts (no trailing newline: e2e spec §2 pitfall 1); empty when not parsed for QMP. */
  readonly qmp: readonly string[];
}

/** A script that cannot be sent as QMP; `line` is 1-based and names where the problem is. */
export class ScriptSyntaxError extends Error {
  override readonly name = 'ScriptSyntaxError';
  readonly line: number;
  /** The problem, without the line number. */
  readonly reason: string;
  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.line = line;
    this.reason = reason;
  }
}

/** Parses a script once; `forQmp` also checks and splits the QMP form (throws ScriptSyntaxError). */
export function parseScript(text: string, forQmp: boolean): ParsedScript {
  return Object.freeze({ text, hmp: Object.freeze(hmpCommands(text)), qmp: Object.freeze(forQmp ? qmpCommands(text) : []) });
}

/** Splits a script into HMP command lines. */
export function hmpCommands(script: string): string[] {
  return numberedLines(script).map((l) => l.text);
}

/**
 * Splits a script into compact QMP command texts, in time linear in its length: each character is
 * scanned once to find where a JSON object ends, and each object is handed to JSON.parse once.
 */
export function qmpCommands(script: string): string[] {
  const out: string[] = [];
  let object: { startLine: number; parts: string[] } | undefined;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const { text: line, number } of numberedLines(script)) {
    if (object === undefined && !line.startsWith('{')) {
      out.push(JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': line } }));
      continue;
    }
    let from = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (object === undefined) {
        if (c === SPACE || c === TAB) continue;
        if (c !== OPEN_BRACE) throw new ScriptSyntaxError(number, `unexpected '${line[i] ?? ''}' after a JSON command (one command per object; HMP text goes on its own line)`);
        object = { startLine: number, parts: [] };
        from = i;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) {
          object.parts.push(line.slice(from, i + 1));
          const command = toCommand(object.parts.join('\n'), object.startLine);
          if (command !== undefined) out.push(command);
          object = undefined;
        }
      }
    }
    if (object !== undefined) {
      if (inString) throw new ScriptSyntaxError(number, 'a JSON string does not end on its line');
      object.parts.push(line.slice(from));
    }
  }
  if (object !== undefined) throw new ScriptSyntaxError(object.startLine, 'JSON object not closed by the end of the script');
  return out;
}

const [SPACE, TAB, QUOTE, BACKSLASH] = [0x20, 0x09, 0x22, 0x5c];
const [OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET] = [0x7b, 0x7d, 0x5b, 0x5d];

/** Non-empty, non-comment lines, trimmed, with their 1-based line numbers. */
function numberedLines(script: string): { text: string; number: number }[] {
  const out: { text: string; number: number }[] = [];
  script.split(/\r?\n/).forEach((raw, index) => {
    const text = raw.trim();
    if (text !== '' && !text.startsWith('#')) out.push({ text, number: index + 1 });
  });
  return out;
}

/** One complete object → its compact text; undefined for qmp_capabilities (the notifier sends it). */
function toCommand(json: string, line: number): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new ScriptSyntaxError(line, `invalid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScriptSyntaxError(line, 'a QMP command must be a JSON object');
  const execute = (value as { execute?: unknown; 'exec-oob'?: unknown }).execute ?? (value as { 'exec-oob'?: unknown })['exec-oob'];
  if (typeof execute !== 'string') throw new ScriptSyntaxError(line, 'a QMP command needs "execute" (or "exec-oob") naming the command');
  return execute === 'qmp_capabilities' ? undefined : JSON.stringify(value);
}
