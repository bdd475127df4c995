/** Events the agent sends to the VIM (vim §2.2 D–F) as data, and their exact PATCH requests. */
import {
  VimEventPath, vimActionEventText, vimAlarmText, vimServiceEventText,
  type NotificationType, type VimGuestResponse, type VimServiceState, type VoteResult,
} from '@guesthb/protocol';

/**
 * `episode` (alarms and action results) names what the event reports — the server event id of the loss,
 * ill-health or vote result, or the audit's condition event id — so the same fault is told once (issue 12).
 * It is not sent to the VIM.
 */
export type VimEvent =
  | { readonly kind: 'alarm-failed' | 'alarm-unhealthy'; readonly uuid: string; readonly hostname: string; readonly repairAction: string; readonly episode?: string }
  | {
    readonly kind: 'service'; readonly uuid: string; readonly hostname: string;
    readonly state: VimServiceState; readonly status: VimServiceState; readonly restartTimeout: string;
  }
  | { readonly kind: 'action'; readonly uuid: string; readonly action: string; readonly response: VimGuestResponse; readonly reason: string; readonly episode?: string };

export type VimEventKind = VimEvent['kind'];
export const VIM_EVENT_KINDS: readonly VimEventKind[] = ['alarm-failed', 'alarm-unhealthy', 'service', 'action'];

/** The PATCH path and body text of an event. */
export function vimEventRequest(event: VimEvent): { readonly path: string; readonly body: string } {
  const path = VimEventPath.instance(event.uuid);
  switch (event.kind) {
    case 'alarm-failed':
      return { path, body: vimAlarmText(event.uuid, event.hostname, 'failed', event.repairAction) };
    case 'alarm-unhealthy':
      return { path, body: vimAlarmText(event.uuid, event.hostname, 'unhealthy', event.repairAction) };
    case 'service':
      return { path, body: vimServiceEventText(event.uuid, event.hostname, event.state, event.status, event.restartTimeout) };
    case 'action':
      return { path, body: vimActionEventText(event.uuid, event.action, event.response, event.reason) };
  }
}

/**
 * The guest-response of a vote/notify result (daemons §3.7, §9 item 14). accept/complete → allow for a
 * vote, proceed for a notification; reject → reject. Decision: timeout and error are the guest's silence
 * or failure, not an objection, so they become allow/proceed explicitly (the original sent "" and the
 * VIM defaulted it to proceed, which its vote step does not handle: vim §3 item 7). An unknown
 * notification type sends nothing (undefined), as the original.
 */
export function guestResponseOf(notificationType: NotificationType, vote: VoteResult): VimGuestResponse | undefined {
  if (vote === 'reject') return 'reject';
  switch (notificationType) {
    case 'revocable':
      return 'allow';
    case 'irrevocable':
      return 'proceed';
    case 'unknown':
      return undefined;
  }
}
