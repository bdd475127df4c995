/** The body of every bin.ts: run main, and turn a ConfigError into exit code 2 with a one-line message. */
import { readFileSync, writeSync } from 'node:fs';
import { CONFIG_EXIT_CODE, ConfigError } from './config-error.js';

/**
 * Runs `main`; on failure prints the reason to stderr (no logger exists yet) and sets the exit code.
 * With `usage`, `--help` or `-h` anywhere on the command line prints it to stdout and exits 0 without
 * running main. With `packageJson` (the URL of the bin's package.json), `--version` prints
 * `<name> <version>` and exits 0. A failed main exits the process at once (`exit`), whatever it left open.
 */
export function runMain(
  name: string, main: () => Promise<void>, usage?: string, argv: readonly string[] = process.argv.slice(2), packageJson?: URL,
  exit: (code: number) => void = (code) => process.exit(code),
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
    // Exit at once: a half-started daemon (one listener bound, the other EADDRINUSE) must not keep running
    // with its timers and sockets, looking alive to systemd (issue 11 item 7).
    if (err instanceof ConfigError) {
      writeStderr(`${name}: configuration error: ${err.message}\n`);
      exit(CONFIG_EXIT_CODE);
      return;
    }
    writeStderr(`${name}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exit(1);
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

/** stderr may be a closed pipe: the message is best effort, the exit code is what counts. */
function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // EPIPE / EBADF: nobody is reading
  }
}
