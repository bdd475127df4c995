/**
 * systemd's notify protocol (STYLE.md R14): READY=1, STOPPING=1 and WATCHDOG=1 every WATCHDOG_USEC/2.
 * Node has no AF_UNIX datagram sockets, so the message goes through `systemd-notify` (the unit sets
 * NotifyAccess=all for it). Without NOTIFY_SOCKET every call is a no-op.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface SdNotifier {
  notify(state: string): void;
  /** Half the service watchdog interval, or undefined when systemd asked for none. */
  readonly watchdogIntervalMs: number | undefined;
}

/** Builds the notifier from the environment main.ts passes in. */
export function createSdNotifier(env: NodeJS.ProcessEnv, log: Logger): SdNotifier {
  const socket = env['NOTIFY_SOCKET'];
  const usec = Number(env['WATCHDOG_USEC']);
  const pidMatches = env['WATCHDOG_PID'] === undefined || env['WATCHDOG_PID'] === String(process.pid);
  return {
    watchdogIntervalMs: socket !== undefined && usec > 0 && pidMatches ? Math.max(1, Math.floor(usec / 2000)) : undefined,
    notify(state) {
      if (socket === undefined || socket === '') return;
      execFile('systemd-notify', [state], { env }, (err) => {
        if (err) log.warn({ err, state }, 'sd_notify failed');
      });
    },
  };
}
