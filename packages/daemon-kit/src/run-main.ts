/** The body of every bin.ts: run main, and turn a ConfigError into exit code 2 with a one-line message. */
import { CONFIG_EXIT_CODE, ConfigError } from './config-error.js';

/**
 * Runs `main`; on failure prints the reason to stderr (no logger exists yet) and sets the exit code.
 * With `usage`, `--help` or `-h` anywhere on the command line prints it to stdout and exits 0 without
 * running main.
 */
export function runMain(name: string, main: () => Promise<void>, usage?: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (usage !== undefined && (argv.includes('--help') || argv.includes('-h'))) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exitCode = 0;
    return;
  }
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: configuration error: ${err.message}\n`);
      process.exitCode = CONFIG_EXIT_CODE;
      return;
    }
    process.stderr.write(`${name}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
