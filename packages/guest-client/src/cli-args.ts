/** Command line of `guest-client` (client §2 plus simulation mode). Pure: argv in, options or ConfigError out. */
import { parseArgs } from 'node:util';
import { ConfigError, LOG_LEVELS, type LogLevel } from '@guesthb/daemon-kit';
import { DEFAULT_GUEST_DEVICE, InstanceUuidSchema } from '@guesthb/protocol';
import { DEFAULT_APP_API_SOCKET } from './app-api-codec.js';

export const USAGE = `usage:
  guest-client [--device PATH] [--name NAME] [--config FILE] [--log-level L] [--pidfile FILE]
               [--app-socket PATH | --no-app-api]
  guest-client --listen DIR (--uuid UUID ... | --count N) [--config FILE] [--log-level L]`;

export type CliOptions =
  | { readonly mode: 'help' }
  | {
    readonly mode: 'client';
    readonly device: string;
    readonly name: string | undefined;
    readonly configPath: string | undefined;
    readonly logLevel: LogLevel;
    readonly pidfile: string | undefined;
    /** The application API socket (client §8); undefined = disabled (--no-app-api). */
    readonly appSocket: string | undefined;
  }
  | {
    readonly mode: 'simulate';
    readonly dir: string;
    readonly uuids: readonly string[];
    readonly count: number;
    readonly configPath: string | undefined;
    readonly logLevel: LogLevel;
  };

/** Largest --count: each guest is a listening socket (a file descriptor). */
export const MAX_SIMULATED_GUESTS = 20_000;

export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        device: { type: 'string' }, name: { type: 'string' }, config: { type: 'string' },
        'log-level': { type: 'string' }, pidfile: { type: 'string' }, listen: { type: 'string' },
        uuid: { type: 'string', multiple: true }, count: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        'app-socket': { type: 'string' }, 'no-app-api': { type: 'boolean' },
      },
    });
  } catch (err) {
    // The original ignored unknown arguments (client §2); we refuse them so typos are seen (DESIGN.md §5).
    throw new ConfigError('command line', (err as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return { mode: 'help' };
  const logLevel = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}`);
  if (v.listen === undefined) {
    if (v.uuid !== undefined || v.count !== undefined) throw new ConfigError('--uuid/--count', 'only with --listen');
    if (v['no-app-api'] === true && v['app-socket'] !== undefined) throw new ConfigError('--app-socket', 'not with --no-app-api');
    if (v['app-socket'] === '') throw new ConfigError('--app-socket', 'expected a path');
    return {
      mode: 'client', device: v.device ?? DEFAULT_GUEST_DEVICE, name: v.name, configPath: v.config,
      logLevel: logLevel as LogLevel, pidfile: v.pidfile,
      appSocket: v['no-app-api'] === true ? undefined : (v['app-socket'] ?? DEFAULT_APP_API_SOCKET),
    };
  }
  if (v['app-socket'] !== undefined || v['no-app-api'] !== undefined) throw new ConfigError('--app-socket', 'not with --listen');
  if (v.device !== undefined) throw new ConfigError('--device', 'not with --listen');
  const uuids = v.uuid ?? [];
  for (const uuid of uuids) {
    if (!InstanceUuidSchema.safeParse(uuid).success) throw new ConfigError('--uuid', `${JSON.stringify(uuid)} is not a 36-character uuid`);
  }
  let count = 0;
  if (v.count !== undefined) {
    if (!/^\d+$/.test(v.count) || Number(v.count) < 1 || Number(v.count) > MAX_SIMULATED_GUESTS) {
      throw new ConfigError('--count', `expected an integer from 1 to ${MAX_SIMULATED_GUESTS}`);
    }
    count = Number(v.count);
  }
  if (uuids.length === 0 && count === 0) throw new ConfigError('--uuid', 'give --uuid UUID (repeatable) or --count N with --listen');
  return { mode: 'simulate', dir: v.listen, uuids, count, configPath: v.config, logLevel: logLevel as LogLevel };
}
