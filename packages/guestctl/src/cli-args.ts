/**
 * guestctl's command line: `guestctl [global options] <command> [arguments]`, parsed into a frozen value
 * or a UsageError (exit code 2). Environment variables give defaults that flags override.
 */
import { parseArgs } from 'node:util';
import { INSTANCE_STATES, type InstanceState } from '@guesthb/protocol';
import { ExitCode, GuestctlError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'json', 'value'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:2401';
export const DEFAULT_VIM_URL = 'http://127.0.0.1:2410';

export type Command =
  | { readonly name: 'hosts' }
  | { readonly name: 'instances'; readonly host: string | undefined; readonly state: InstanceState | undefined }
  | { readonly name: 'show'; readonly key: string }
  | { readonly name: 'events'; readonly follow: boolean }
  | { readonly name: 'vote' | 'notify'; readonly uuid: string; readonly action: string; readonly hostname: string | undefined }
  | { readonly name: 'help' }
  | { readonly name: 'version' };

export interface GuestctlArgs {
  readonly agentUrl: string;
  readonly vimUrl: string;
  readonly tokenFile: string | undefined;
  readonly format: OutputFormat;
  /** Columns to print (-c, repeatable); empty = all. */
  readonly columns: readonly string[];
  readonly timeoutMs: number;
  readonly command: Command;
}

export const USAGE = `usage: guestctl [options] <command> [arguments]

Every guest at a glance, from the guest-agent's operator API.

commands:
  hosts                                  hosts, their guest-server and its reachability, states per host
  instances [--host H] [--state S]       instances (S: ${INSTANCE_STATES.join(', ')})
  show <uuid|name>                       one instance, every field
  events [--follow]                      the last event of each instance; --follow streams changes live
  vote <uuid> <action>                   ask the guest to vote on an action, as the VIM does (I5)
  notify <uuid> <action>                 notify the guest of an action, as the VIM does (I6)
                                         (action: stop, reboot, suspend, pause, unpause, resume,
                                          resize_begin, resize_end, live_migrate_begin, …)

options:
  --agent URL        the agent's operator API (rx_port)     env GUESTCTL_AGENT_URL, default ${DEFAULT_AGENT_URL}
  --vim URL          the agent's VIM command port (vote/notify) env GUESTCTL_VIM_URL, default ${DEFAULT_VIM_URL}
  --token-file F     file holding the agent's bearer token  env GUESTCTL_TOKEN_FILE (or GUESTCTL_TOKEN: the token)
  --hostname H       vote/notify: the instance's host (default: asked from the agent)
  -f, --format F     table (default), json or value (values only, one row per line, space-separated)
  -c, --column C     print only this column (repeatable)
  --timeout-ms N     per-request timeout, default 10000
  -h, --help         this text
  --version          guestctl's version

exit codes: 0 success; 1 the agent failed or is unreachable; 2 usage error; 3 not found;
            4 unauthorized (token missing or wrong); 5 vote/notify refused by the agent`;

/** Parses argv (without node and script) with `env` for defaults. Throws GuestctlError(USAGE). */
export function parseGuestctlArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): GuestctlArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new GuestctlError(ExitCode.USAGE, (err as Error).message);
  }
  const { values: v, positionals: pos } = parsed;
  const format = v.format ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new GuestctlError(ExitCode.USAGE, `--format: expected one of ${OUTPUT_FORMATS.join(', ')}`);
  const timeoutMs = Number(v['timeout-ms'] ?? '10000');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new GuestctlError(ExitCode.USAGE, '--timeout-ms: a positive integer');
  const command = v.help === true ? { name: 'help' as const } : v.version === true ? { name: 'version' as const } : commandOf(pos, v);
  return Object.freeze({
    agentUrl: trimSlash(v.agent ?? nonEmpty(env['GUESTCTL_AGENT_URL']) ?? DEFAULT_AGENT_URL),
    vimUrl: trimSlash(v.vim ?? nonEmpty(env['GUESTCTL_VIM_URL']) ?? DEFAULT_VIM_URL),
    tokenFile: v['token-file'] ?? nonEmpty(env['GUESTCTL_TOKEN_FILE']),
    format: format as OutputFormat,
    columns: v.column ?? [],
    timeoutMs,
    command,
  });
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      agent: { type: 'string' }, vim: { type: 'string' }, 'token-file': { type: 'string' }, hostname: { type: 'string' },
      format: { type: 'string', short: 'f' }, column: { type: 'string', short: 'c', multiple: true }, 'timeout-ms': { type: 'string' },
      host: { type: 'string' }, state: { type: 'string' }, follow: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

function commandOf(pos: readonly string[], v: Values): Command {
  const [name, ...rest] = pos;
  const arity = (n: number, synopsis: string): void => {
    if (rest.length !== n) throw new GuestctlError(ExitCode.USAGE, `usage: guestctl ${synopsis}`);
  };
  switch (name) {
    case 'hosts':
      arity(0, 'hosts');
      return { name };
    case 'instances': {
      arity(0, 'instances [--host H] [--state S]');
      const state = v.state;
      if (state !== undefined && !(INSTANCE_STATES as readonly string[]).includes(state)) {
        throw new GuestctlError(ExitCode.USAGE, `--state: expected one of ${INSTANCE_STATES.join(', ')}`);
      }
      return { name, host: v.host, state: state as InstanceState | undefined };
    }
    case 'show':
      arity(1, 'show <uuid|name>');
      return { name, key: rest[0] as string };
    case 'events':
      arity(0, 'events [--follow]');
      return { name, follow: v.follow === true };
    case 'vote':
    case 'notify':
      arity(2, `${name} <uuid> <action>`);
      return { name, uuid: rest[0] as string, action: rest[1] as string, hostname: v.hostname };
    case undefined:
      throw new GuestctlError(ExitCode.USAGE, 'no command given (guestctl --help lists them)');
    default:
      throw new GuestctlError(ExitCode.USAGE, `unknown command '${name}' (guestctl --help lists them)`);
  }
}

/** An empty environment variable counts as unset. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
