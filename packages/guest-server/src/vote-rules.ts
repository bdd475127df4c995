/** Notice timeouts and post-response rules of votes and notifications (daemons §8.2, §8.3). Pure. */
import { INT32_MAX, noticeClassOf, type EventType } from '@guesthb/protocol';
import type { GuestParams } from './instance-state.js';

/**
 * timeout_ms of an action_notify. Revocable: vote_secs. Irrevocable: the notice class of the event
 * (shutdown / suspend / resume, resize included: daemons §9 item 13); an event without a class uses
 * vote_secs, in milliseconds (the original sent seconds there: daemons §9 item 11).
 */
export function noticeTimeoutMs(params: GuestParams, event: EventType, notificationType: 'revocable' | 'irrevocable'): number {
  let secs = params.voteSecs;
  if (notificationType === 'irrevocable') {
    const noticeClass = noticeClassOf(event);
    if (noticeClass === 'shutdown') secs = params.shutdownSecs;
    else if (noticeClass === 'suspend') secs = params.suspendSecs;
    else if (noticeClass === 'resume') secs = params.resumeSecs;
  }
  return Math.min(INT32_MAX, Math.max(0, secs) * 1000);
}

/** Events after which an agreed irrevocable notice means the guest goes away and re-inits later. */
const GUEST_GONE_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'stop', 'reboot', 'pause', 'suspend', 'resize_begin', 'live_migrate_begin', 'cold_migrate_begin',
]);

export function expectsGuestGone(event: EventType): boolean {
  return GUEST_GONE_EVENTS.has(event);
}
