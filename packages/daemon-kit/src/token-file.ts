/**
 * The shared bearer token of the guest-server ↔ guest-agent API (DESIGN.md §3). Both daemons read the same
 * file the same way, so one file on both hosts always yields the same token: its first line, trimmed.
 */
import { readFile } from 'node:fs/promises';

export type TokenFileResult =
  | { readonly ok: true; readonly token: string; readonly tokens: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly cause?: unknown };

/**
 * Reads `file`; an unreadable file or an empty first line is a failure with its reason. `token` is the
 * first line (the one to send); `tokens` every non-empty line (the ones to accept).
 */
export async function readTokenFile(file: string): Promise<TokenFileResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, reason: `cannot read ${file}: ${(err as Error).message}`, cause: err };
  }
  const token = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (token === '') return { ok: false, reason: `${file} is empty` };
  // Every further non-empty line is accepted too (rotation: "new\nold" sends new and still takes old).
  const tokens = [...new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== ''))];
  return { ok: true, token, tokens };
}
