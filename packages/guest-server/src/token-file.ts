/** The agent's shared token, read from token_file at start and at each reload (SIGHUP). */
import { readFile } from 'node:fs/promises';
import { GuestServerError } from './errors.js';

/** The trimmed token, or undefined without a file; an unreadable or empty file is GS_ERR_TOKEN_FILE. */
export async function readToken(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GuestServerError('GS_ERR_TOKEN_FILE', `cannot read token_file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (token === '') throw new GuestServerError('GS_ERR_TOKEN_FILE', `token_file ${file} is empty`);
  return token;
}
