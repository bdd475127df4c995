/** Configuration failures: a clear message naming the key, and exit code 2 (DESIGN.md §5). */
import type { z } from 'zod';

/** Exit code of a daemon whose configuration or command line is wrong. */
export const CONFIG_EXIT_CODE = 2;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'KIT_ERR_CONFIG_INVALID';
  /** The offending key, as `[section] key` for INI files or `--flag` for the command line. */
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`${key}: ${message}`, options);
    this.key = key;
  }
}

/** Turns the first zod issue into a ConfigError naming the key: `[client] rx_port: …`. */
export function configErrorFromZod(error: z.ZodError, describePath: (path: readonly PropertyKey[]) => string): ConfigError {
  const issue = error.issues[0];
  const key = issue === undefined ? 'config' : describePath(issue.path);
  const detail = issue === undefined ? 'invalid' : issue.message;
  return new ConfigError(key, detail, { cause: error });
}

/** Names an INI path: ['client', 'rx_port'] → "[client] rx_port". */
export function iniKeyName(path: readonly PropertyKey[]): string {
  const [section, key] = path;
  if (section === undefined) return 'config';
  if (key === undefined) return `[${String(section)}]`;
  return `[${String(section)}] ${String(key)}`;
}
