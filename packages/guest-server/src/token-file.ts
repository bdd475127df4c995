/** The agent's shared token, read from token_file at start and at each reload (SIGHUP). */
import { readTokenFile } from '@guesthb/daemon-kit';
import { GuestServerError } from './errors.js';

/** The token (first line, trimmed), or undefined without a file; an unreadable or empty file is GS_ERR_TOKEN_FILE. */
export async function readToken(file: string | undefined): Promise<string | undefined> {
  return (await readTokens(file))?.[0];
}

/** Every token of the file (the first is the one sent; all are accepted), or undefined without a file. */
export async function readTokens(file: string | undefined): Promise<readonly string[] | undefined> {
  if (file === undefined) return undefined;
  const result = await readTokenFile(file);
  if (!result.ok) throw new GuestServerError('GS_ERR_TOKEN_FILE', `token_file ${result.reason}`, { cause: result.cause });
  return result.tokens;
}
