/**
 * opt_script, split into the commands of each notification mode (README "Notification").
 * HMP: one command per non-empty line, `#` lines are comments. QMP: JSON objects (one or several per
 * file, over one or several lines) are sent as they are; any other line is HMP text and is wrapped in
 * `human-monitor-command`, so one script works on both monitors. `qmp_capabilities` is skipped: the
 * notifier negotiates itself.
 */

/** Splits a script into HMP command lines. */
export function hmpCommands(script: string): string[] {
  return script
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Splits a script into compact QMP command texts (no trailing newline: e2e spec §2 pitfall 1). */
export function qmpCommands(script: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of hmpCommands(script)) {
    if (pending !== '' || line.startsWith('{')) {
      pending += `${line}\n`;
      const value = tryParse(pending);
      if (value === undefined) continue;
      pending = '';
      for (const cmd of value) if (!isCapabilities(cmd)) out.push(JSON.stringify(cmd));
      continue;
    }
    out.push(JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': line } }));
  }
  if (pending !== '') out.push(pending.trim()); // unbalanced JSON: let QEMU answer with its error
  return out;
}

/** Parses one or more concatenated JSON values; undefined while incomplete. */
function tryParse(text: string): unknown[] | undefined {
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    const joined = `[${text.replace(/}\s*{/g, '},{')}]`;
    try {
      return JSON.parse(joined) as unknown[];
    } catch {
      return undefined;
    }
  }
}

function isCapabilities(cmd: unknown): boolean {
  return typeof cmd === 'object' && cmd !== null && (cmd as { execute?: unknown }).execute === 'qmp_capabilities';
}
