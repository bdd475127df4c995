/** Graceful stop and reload signals for a daemon (STYLE.md R14, DESIGN.md §5). */
import type { Clock } from '@guesthb/protocol';
import type { Logger } from 'pino';
import { systemClock } from './clock.js';

export interface ShutdownOptions {
  readonly log: Logger;
  /** Closes everything in reverse start order. */
  readonly close: () => Promise<void>;
  /** Deadline of the graceful close; past it the process exits 1. */
  readonly timeoutMs: number;
  /** Injected for tests. */
  readonly exit?: (code: number) => void;
  /** Clock of the deadline; the system clock unless injected for tests. */
  readonly clock?: Clock;
}

/**
 * First SIGTERM/SIGINT: graceful close under a deadline, then exit 0. A second signal hits Node's default
 * handler and kills the process. Returns a function that uninstalls the handlers.
 */
export function installShutdown(options: ShutdownOptions): () => void {
  const { log, close, timeoutMs, exit = (c): never => process.exit(c), clock = systemClock } = options;
  const uninstall = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    uninstall();
    log.info({ signal }, 'shutdown requested');
    const deadline = clock.setTimeout(() => {
      log.fatal({ signal, timeoutMs }, 'graceful shutdown timed out');
      exit(1);
    }, timeoutMs);
    close().then(
      () => {
        log.info('shutdown complete');
        clock.clearTimeout(deadline);
        // Handles of libraries (chokidar, undici pools) may linger; the daemon's work is done, so leave now.
        exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        clock.clearTimeout(deadline);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return uninstall;
}

/** Calls `reload` on every SIGHUP, logging failures; returns an uninstaller. */
export function installReload(log: Logger, reload: () => Promise<void>): () => void {
  const onHup = (): void => {
    log.info('reload requested (SIGHUP)');
    reload().then(
      () => log.info('reload complete'),
      (err: unknown) => log.error({ err }, 'reload failed; keeping the previous settings'),
    );
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

/** Fatal on uncaught errors: log, close under the same deadline, exit 1 (let the supervisor restart us). */
export function installCrashHandlers(options: ShutdownOptions): void {
  const { log, close, timeoutMs, exit = (c): never => process.exit(c), clock = systemClock } = options;
  const onFatal = (err: unknown): void => {
    log.fatal({ err }, 'uncaught error; closing');
    clock.setTimeout(() => exit(1), timeoutMs);
    close().finally(() => exit(1)).catch(() => exit(1));
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
}
