/**
 * Small value rules of the inventory records (no state): the guest's info as a record patch and the
 * vote/notify timeout table.
 */
import {
  DEFAULT_NOTICE_SECS, DEFAULT_RESTART_SECS, noticeClassOf, toVocabulary, EVENT_TYPES, type InstanceInfo, type ReportingState,
} from '@guesthb/protocol';
import type { Instance, NoticeTimeouts } from './agent-state.js';

export const ZERO_TIMEOUTS: NoticeTimeouts = Object.freeze({ restart: '0', shutdown: '0', suspend: '0', resume: '0', vote: '0' });
/** What a server reports before any init (daemons §3.6): used only by tests and documentation. */
export const SERVER_DEFAULT_TIMEOUTS: NoticeTimeouts = {
  restart: String(DEFAULT_RESTART_SECS), shutdown: String(DEFAULT_NOTICE_SECS), suspend: String(DEFAULT_NOTICE_SECS),
  resume: String(DEFAULT_NOTICE_SECS), vote: String(DEFAULT_NOTICE_SECS),
};

export const onOff = (on: boolean): ReportingState => (on ? 'enabled' : 'disabled');

/** A server's view of the guest (corrective action, notice timeouts) as a patch of the agent's record. */
export function guestInfoPatch(info: InstanceInfo): Pick<Instance, 'correctiveAction' | 'timeouts'> {
  return {
    correctiveAction: info['repair-action'],
    timeouts: Object.freeze({
      restart: info['restart-to'], shutdown: info['shutdown-to'], suspend: info['suspend-to'],
      resume: info['resume-to'], vote: info['vote-to'],
    }),
  };
}

/**
 * The timeout string of a vote/notify reply (vim §1.2, daemons §8.2): "0" when not heartbeating; vote →
 * vote-to; notify → the notice of the event's class, resize included (daemons §9 item 13); unknown → "0".
 */
export function actionTimeout(inst: Instance, command: 'vote' | 'notify', action: string): string {
  if (!inst.heartbeating) return '0';
  if (command === 'vote') return inst.timeouts.vote;
  const notice = noticeClassOf(toVocabulary(EVENT_TYPES, action, 'unknown'));
  return notice === undefined ? '0' : inst.timeouts[notice];
}
