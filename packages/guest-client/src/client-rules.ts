/**
 * The reference client's small rules, as pure functions (client §5, §7): health verdict with repeat
 * suppression, the action deadline, the vote merge, text clean-up.
 */
import type { CorrectiveAction, Health, VoteResult } from '@guesthb/protocol';

/** log_msg is cut to 223 characters by the reference client (client §3). */
export const CLIENT_LOG_CHARS = 223;
/** Script stdout captured, in bytes (client §7.4, §9). */
export const SCRIPT_OUTPUT_BYTES = 256;
/** An unhealthy verdict with the same action is reported with action "none" for this long (client §5.4). */
export const UNHEALTHY_REPEAT_SUPPRESS_MS = 60_000;
/** Text of the timeout action_response (client §7.6). */
export const ACTION_TIMEOUT_LOG = 'Timeout on application and/or script action responses.';
/** Text of the exit message (client §4.1). */
export const EXIT_LOG = 'Exiting...';

/** Newlines become spaces and the text is cut to the log limit (client §3, §7.4). */
export function cleanLogText(text: string): string {
  return text.replace(/[\r\n]/g, ' ').slice(0, CLIENT_LOG_CHARS);
}

/** The overall action deadline: timeout_ms − 1000 when timeout_ms > 1000, else timeout_ms (client §7.2). */
export function actionDeadlineMs(timeoutMs: number): number {
  return timeoutMs > 1000 ? timeoutMs - 1000 : Math.max(0, timeoutMs);
}

/** The last unhealthy report that went out with a real action (for repeat suppression). */
export interface UnhealthyReport {
  readonly action: CorrectiveAction;
  readonly at: number;
}

/** What a challenge_response carries, and the new suppression memory. */
export interface HealthVerdict {
  readonly health: Health;
  readonly action: CorrectiveAction;
  readonly report: UnhealthyReport | undefined;
}

/**
 * client §5.2–5.4: a healthy response carries the configured action; the first unhealthy one carries the
 * real action and later ones within 60 s with the same action carry "none".
 */
export function healthVerdict(
  health: Health, action: CorrectiveAction, last: UnhealthyReport | undefined, at: number,
): HealthVerdict {
  if (health === 'healthy') return { health, action, report: undefined };
  if (last !== undefined && last.action === action && at - last.at < UNHEALTHY_REPEAT_SUPPRESS_MS) {
    return { health, action: 'none', report: last };
  }
  return { health, action, report: { action, at } };
}

/** Severity of a corrective action when several are merged: stop > reboot > log (client §5.1). */
export function actionSeverity(action: CorrectiveAction): number {
  switch (action) {
    case 'stop': return 3;
    case 'reboot': return 2;
    case 'log': return 1;
    case 'none':
    case 'unknown': return 0;
  }
}

/** One registered application's last health report. */
export interface AppHealthReport {
  readonly health: Health;
  readonly action: CorrectiveAction;
  readonly log: string;
}

/**
 * The health, action and log_msg a challenge_response carries before repeat suppression (client §5.1–5.3):
 * an unhealthy app makes the guest unhealthy with the most severe action among the unhealthy apps and that
 * app's log (the first app wins a tie); if the script is unhealthy too, the configured action is merged
 * in, and if it is strictly more severe, the script's log is used. All apps healthy (or none): the
 * script's verdict with the configured action and the script's log.
 */
export function combineHealth(
  script: { readonly health: Health; readonly log: string }, configuredAction: CorrectiveAction, apps: readonly AppHealthReport[],
): AppHealthReport {
  let worst: AppHealthReport | undefined;
  for (const app of apps) {
    if (app.health !== 'unhealthy') continue;
    if (worst === undefined || actionSeverity(app.action) > actionSeverity(worst.action)) worst = app;
  }
  if (worst === undefined) return { health: script.health, action: configuredAction, log: script.log };
  if (script.health === 'unhealthy' && actionSeverity(configuredAction) > actionSeverity(worst.action)) {
    return { health: 'unhealthy', action: configuredAction, log: script.log };
  }
  return { health: 'unhealthy', action: worst.action, log: worst.log };
}

/** One party's answer to an action (the event script, or the simulator's voter). */
export type PartyResult = 'accept' | 'reject' | 'complete' | 'error' | 'timeout';

/**
 * The merge rule of client §7.5: reject always wins and keeps its log; accept/complete replace the value
 * unless it is reject; error, timeout and unknown change nothing (not even the log: client §7.7 quirk).
 */
export function mergeVote(
  current: VoteResult, currentLog: string, party: PartyResult, partyLog: string,
): { readonly result: VoteResult; readonly log: string } {
  if (party === 'reject') return { result: 'reject', log: partyLog };
  if ((party === 'accept' || party === 'complete') && current !== 'reject') return { result: party, log: partyLog };
  return { result: current, log: currentLog };
}

/** Event script exit status → result (client §7.4): 0 accept, 1 reject, anything else (or a signal) error. */
export function eventScriptResult(exitCode: number | null): PartyResult {
  if (exitCode === 0) return 'accept';
  if (exitCode === 1) return 'reject';
  return 'error';
}

/** Health script exit status → health (client §9): only 1 is unhealthy; a signal counts as healthy. */
export function healthScriptResult(exitCode: number | null): Health {
  return exitCode === 1 ? 'unhealthy' : 'healthy';
}
