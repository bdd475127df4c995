/** guestctl's composition root: argv + env → arguments, token, client → command → exit code. */
import { readFile } from 'node:fs/promises';
import { createAgentClient } from './agent-client.js';
import { parseGuestctlArgs, USAGE } from './cli-args.js';
import { runCommand, type Output } from './commands.js';
import { ExitCode, GuestctlError } from './errors.js';

export interface GuestctlIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: Output;
  readonly err: Output;
  readonly signal: AbortSignal;
}

/** Runs guestctl; resolves with the exit code and never throws. */
export async function runGuestctl(io: GuestctlIo): Promise<number> {
  try {
    const args = parseGuestctlArgs(io.argv, io.env);
    if (args.command.name === 'help') {
      io.out.write(`${USAGE}\n`);
      return ExitCode.OK;
    }
    if (args.command.name === 'version') {
      io.out.write(`guestctl ${await packageVersion()}\n`);
      return ExitCode.OK;
    }
    const token = await readToken(args.tokenFile, io.env['GUESTCTL_TOKEN']);
    const client = createAgentClient({ agentUrl: args.agentUrl, vimUrl: args.vimUrl, token, timeoutMs: args.timeoutMs });
    return await runCommand(args, client, io.out, io.signal);
  } catch (err) {
    if (err instanceof GuestctlError) {
      io.err.write(`guestctl: ${err.message}\n`);
      return err.exitCode;
    }
    io.err.write(`guestctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.FAILED;
  }
}

async function readToken(file: string | undefined, direct: string | undefined): Promise<string | undefined> {
  if (file === undefined) return direct === undefined || direct === '' ? undefined : direct.trim();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GuestctlError(ExitCode.USAGE, `--token-file: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const token = text.split('\n')[0]?.trim() ?? '';
  if (token === '') throw new GuestctlError(ExitCode.USAGE, `--token-file: ${file} is empty`);
  return token;
}

/** The version in guestctl's package.json (next to dist/). */
export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
