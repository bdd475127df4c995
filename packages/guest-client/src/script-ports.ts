/** The script-backed health and event ports of the real client (client §7.4, §9, §10). */
import type { Logger } from 'pino';
import type { Clock } from '@guesthb/protocol';
import { eventScriptResult, healthScriptResult } from './client-rules.js';
import type { EventHandlerPort, HealthCheckPort } from './client-session.js';
import { runScript } from './script-runner.js';

/** HEALTH_CHECK_SCRIPT with no arguments; exit 1 = unhealthy; stdout becomes the log text. */
export function healthScriptPort(path: string, clock: Clock, log: Logger, timeoutMs: number): HealthCheckPort {
  return {
    start: () => {
      const run = runScript(path, [], { clock, timeoutMs });
      return {
        cancel: run.cancel,
        outcome: run.outcome.then((o) => {
          if (o.notRunnable !== undefined) {
            log.error({ code: 'GC_ERR_SCRIPT_NOT_RUNNABLE', reason: o.notRunnable }, 'health check script not run');
            return undefined;
          }
          if (o.killed) return undefined;                          // superseded or timed out: no verdict
          return { health: healthScriptResult(o.exitCode), log: o.output };
        }),
      };
    },
  };
}

/** `EVENT_NOTIFICATION_SCRIPT <revocable|irrevocable> <event>`; 0 accept, 1 reject, else error. */
export function eventScriptPort(path: string, clock: Clock, log: Logger): EventHandlerPort {
  return {
    start: (notificationType, eventType) => {
      // The reducer kills the run at the action deadline; no separate timeout here.
      const run = runScript(path, [notificationType, eventType], { clock, timeoutMs: 0 });
      return {
        cancel: run.cancel,
        outcome: run.outcome.then((o) => {
          if (o.notRunnable !== undefined) {
            log.error({ code: 'GC_ERR_SCRIPT_NOT_RUNNABLE', reason: o.notRunnable }, 'event notification script not run');
            return { result: 'error' as const, log: '' };
          }
          if (o.killed) return undefined;
          return { result: eventScriptResult(o.exitCode), log: o.output };
        }),
      };
    },
  };
}
