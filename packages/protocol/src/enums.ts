/** Vocabularies of the host↔guest protocol (daemons §1.6 "Enumerations", client §4.2). */

export const MessageType = {
  INIT: 'init',
  INIT_ACK: 'init_ack',
  CHALLENGE: 'challenge',
  CHALLENGE_RESPONSE: 'challenge_response',
  ACTION_NOTIFY: 'action_notify',
  ACTION_RESPONSE: 'action_response',
  EXIT: 'exit',
  NACK: 'nack',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
export const MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageType);

/** Message types a host accepts from a guest; anything else is nacked "unsupported message type". */
export const GUEST_TO_HOST_TYPES: readonly MessageType[] = ['init', 'challenge_response', 'action_response', 'exit'];
/** Message types a guest acts on; anything else is ignored by the guest (client §3). */
export const HOST_TO_GUEST_TYPES: readonly MessageType[] = ['init_ack', 'challenge', 'action_notify', 'nack'];

export const CORRECTIVE_ACTIONS = ['unknown', 'none', 'reboot', 'stop', 'log'] as const;
export type CorrectiveAction = (typeof CORRECTIVE_ACTIONS)[number];

export const EVENT_TYPES = [
  'unknown', 'stop', 'reboot', 'suspend', 'pause', 'unpause', 'resume', 'resize_begin', 'resize_end',
  'live_migrate_begin', 'live_migrate_end', 'cold_migrate_begin', 'cold_migrate_end',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const NOTIFICATION_TYPES = ['unknown', 'revocable', 'irrevocable'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const VOTE_RESULTS = ['unknown', 'accept', 'reject', 'complete', 'timeout', 'error'] as const;
export type VoteResult = (typeof VOTE_RESULTS)[number];

export const HEALTH_VALUES = ['healthy', 'unhealthy'] as const;
export type Health = (typeof HEALTH_VALUES)[number];

/** Notice class of an event: which init timeout governs it (daemons §8.2, client §7 table). */
export type NoticeClass = 'shutdown' | 'suspend' | 'resume';

/**
 * The notice class of an event, resize included (the original agent left resize out: daemons §9 item 13).
 * `undefined` for `unknown`.
 */
export function noticeClassOf(event: EventType): NoticeClass | undefined {
  switch (event) {
    case 'stop':
    case 'reboot':
      return 'shutdown';
    case 'suspend':
    case 'pause':
    case 'resize_begin':
    case 'live_migrate_begin':
    case 'cold_migrate_begin':
      return 'suspend';
    case 'unpause':
    case 'resume':
    case 'resize_end':
    case 'live_migrate_end':
    case 'cold_migrate_end':
      return 'resume';
    case 'unknown':
      return undefined;
  }
}

/** Events after which the guest is expected to go away and re-init (daemons §8.3). */
export const EVENTS_AWAITING_REINIT: readonly EventType[] = ['suspend', 'live_migrate_begin', 'cold_migrate_begin', 'reboot'];

/** Maps any string onto a vocabulary, falling back to 'unknown' as the reference implementations do. */
export function toVocabulary<T extends string>(vocabulary: readonly T[], value: string, fallback: T): T {
  return (vocabulary as readonly string[]).includes(value) ? (value as T) : fallback;
}
