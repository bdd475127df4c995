/**
 * The parts of guest.ini (daemons §7.1) that guest-server and guest-agent share: the [timeouts] and
 * [debug] sections, and the error that names an unknown section or key. Each daemon validates its own
 * section ([client] or [agent]) itself.
 */
import { z } from 'zod';
import { ConfigError, configErrorFromZod, iniKeyName } from './config-error.js';
import { iniInt } from './ini-values.js';
import { LOG_LEVELS, type LogLevel } from './ini-values.js';

const Verbosity = iniInt(0, 1_000_000);

/** [timeouts]: start_delay is dead in the original (daemons §9 item 29): accepted and ignored. */
export const GuestIniTimeoutsSection = z.strictObject({ start_delay: iniInt(0, 86_400).optional() });

/**
 * [debug]: the original verbosity flags (any debug_* above 0 means log level debug; flush* ignored), plus
 * our `log_level`, which wins over the flags. The command line's --log-level wins over both.
 */
export const GuestIniDebugSection = z.strictObject({
  debug_timer: Verbosity.optional(), debug_json: Verbosity.optional(), debug_fsm: Verbosity.optional(),
  debug_http: Verbosity.optional(), debug_alive: Verbosity.optional(), debug_msg: Verbosity.optional(),
  debug_state: Verbosity.optional(), debug_work: Verbosity.optional(), debug_level: Verbosity.optional(),
  debug_all: Verbosity.optional(), flush: Verbosity.optional(), flush_thld: Verbosity.optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
});
export type GuestIniDebug = z.output<typeof GuestIniDebugSection>;

/** The log level a [debug] section asks for: log_level, else debug when any debug_* flag is above 0. */
export function logLevelFromDebug(debug: GuestIniDebug | undefined): LogLevel | undefined {
  if (debug === undefined) return undefined;
  if (debug.log_level !== undefined) return debug.log_level;
  const anyOn = Object.entries(debug).some(([key, value]) => key.startsWith('debug_') && typeof value === 'number' && value > 0);
  return anyOn ? 'debug' : undefined;
}

/** Turns a zod error over an INI document into a ConfigError naming `[section]` or `[section] key`. */
export function iniSchemaError(error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const path = [...issue.path, issue.keys[0] ?? '?'];
    return new ConfigError(iniKeyName(path), path.length === 1 ? 'unknown section' : 'unknown key', { cause: error });
  }
  return configErrorFromZod(error, iniKeyName);
}
