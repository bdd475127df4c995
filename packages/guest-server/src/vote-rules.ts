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

/**
 * What an agreed (accept/complete) irrevocable notice of `event` means for the guest's session
 * (issue 14 item 2; README "Departure and return"):
 * - `leaving`: stop, reboot. The guest shuts down; nothing is sent to it until it boots and re-inits.
 *   STOPPED(`suspend`) at once, challenges stop.
 * - `parked`: pause, suspend. The guest is frozen (pause: same QEMU, same socket, same session) or saved
 *   (suspend: QEMU exits and comes back on resume). Challenges stop (a frozen guest would queue them and
 *   answer stale ones), but heartbeating is kept, so the agent keeps forwarding the `unpause`/`resume`
 *   the VIM sends right after the event.
 * - `moving`: resize_begin, live_migrate_begin, cold_migrate_begin. The guest runs until the switch-over:
 *   challenges continue; when it stops answering, or its channel goes, there is no LOSS and no STOPPED,
 *   so the `*_end` notice reaches it where it comes back.
 * undefined: the guest stays (votes, rejects, unpause, resume, *_end).
 */
export type DepartureKind = 'leaving' | 'parked' | 'moving';

const DEPARTURES: ReadonlyMap<EventType, DepartureKind> = new Map<EventType, DepartureKind>([
  ['stop', 'leaving'], ['reboot', 'leaving'],
  ['pause', 'parked'], ['suspend', 'parked'],
  ['resize_begin', 'moving'], ['live_migrate_begin', 'moving'], ['cold_migrate_begin', 'moving'],
]);

export function departureOf(event: EventType): DepartureKind | undefined {
  return DEPARTURES.get(event);
}

/** Events after which an agreed irrevocable notice means the guest goes away (for a while). */
export function expectsGuestGone(event: EventType): boolean {
  return DEPARTURES.has(event);
}

/** The notices of a return (resume class): unpause, resume, resize_end, live_migrate_end, cold_migrate_end. */
const RETURN_EVENTS: ReadonlySet<EventType> = new Set<EventType>(['unpause', 'resume', 'resize_end', 'live_migrate_end', 'cold_migrate_end']);

/**
 * Whether a notice that the guest cannot take now (no channel, or no init yet) waits for the guest's init,
 * bounded by its own timeout, instead of failing at once: every notice while the guest is away after a
 * `parked`/`moving` departure, and a return notice always (after a live migration it reaches the new host
 * before the guest has re-initialised there).
 */
export function holdsNotice(event: EventType, departed: boolean): boolean {
  return departed || RETURN_EVENTS.has(event);
}
