/** The body of every bin.ts: run main, and turn a ConfigError into exit code 2 with a one-line message. */
import { readFileSync } from 'node:fs';
import { CONFIG_EXIT_CODE, ConfigError } from './config-error.js';

/**
 * Runs `main`; on failure prints the reason to stderr (no logger exists yet) and sets the exit code.
 * With `usage`, `--help` or `-h` anywhere on the command line prints it to stdout and exits 0 without
 * running main. With `packageJson` (the URL of the bin's package.json), `--version` prints
 * `<name> <version>` and exits 0.
 */
export function runMain(
  name: string, main: () => Promise<void>, usage?: string, argv: readonly string[] = process.argv.slice(2), packageJson?: URL,
): void {
  if (usage !== undefined && (argv.includes('--help') || argv.includes('-h'))) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exitCode = 0;
    return;
  }
  if (packageJson !== undefined && argv.includes('--version')) {
    process.stdout.write(`${name} ${packageVersion(packageJson)}\n`);
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

/** The `version` of a package.json, or 'unknown' when it cannot be read. */
export function packageVersion(packageJson: URL): string {
  try {
    const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
