/** Vocabularies of the protocol (daemons §1.6 "Enumerations", client §4.2) and their helpers. */
import { describe, expect, it } from 'vitest';
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, EVENTS_AWAITING_REINIT, GUEST_TO_HOST_TYPES, HEALTH_VALUES, HOST_TO_GUEST_TYPES,
  MESSAGE_TYPES, MessageType, NOTIFICATION_TYPES, noticeClassOf, toVocabulary, VOTE_RESULTS,
} from '../src/index.js';

describe('vocabularies', () => {
  it('list the values of the original header, word for word', () => {
    expect(CORRECTIVE_ACTIONS).toEqual(['unknown', 'none', 'reboot', 'stop', 'log']);
    expect(EVENT_TYPES).toEqual([
      'unknown', 'stop', 'reboot', 'suspend', 'pause', 'unpause', 'resume', 'resize_begin', 'resize_end',
      'live_migrate_begin', 'live_migrate_end', 'cold_migrate_begin', 'cold_migrate_end',
    ]);
    expect(NOTIFICATION_TYPES).toEqual(['unknown', 'revocable', 'irrevocable']);
    expect(VOTE_RESULTS).toEqual(['unknown', 'accept', 'reject', 'complete', 'timeout', 'error']);
    expect(HEALTH_VALUES).toEqual(['healthy', 'unhealthy']);
  });

  it('has the 8 message types, split by direction', () => {
    expect(MESSAGE_TYPES).toEqual(['init', 'init_ack', 'challenge', 'challenge_response', 'action_notify', 'action_response', 'exit', 'nack']);
    expect(MessageType.CHALLENGE_RESPONSE).toBe('challenge_response');
    expect([...GUEST_TO_HOST_TYPES, ...HOST_TO_GUEST_TYPES].sort()).toEqual([...MESSAGE_TYPES].sort());
    expect(GUEST_TO_HOST_TYPES).toEqual(['init', 'challenge_response', 'action_response', 'exit']);
  });

  it('keeps every token within the 32-byte value buffer (client §3)', () => {
    for (const value of [...CORRECTIVE_ACTIONS, ...EVENT_TYPES, ...NOTIFICATION_TYPES, ...VOTE_RESULTS, ...MESSAGE_TYPES]) {
      expect(value.length).toBeLessThan(32);
    }
  });
});

describe('noticeClassOf (daemons §8.2, resize included: §9 item 13)', () => {
  it.each([
    ['stop', 'shutdown'], ['reboot', 'shutdown'],
    ['suspend', 'suspend'], ['pause', 'suspend'], ['resize_begin', 'suspend'], ['live_migrate_begin', 'suspend'], ['cold_migrate_begin', 'suspend'],
    ['unpause', 'resume'], ['resume', 'resume'], ['resize_end', 'resume'], ['live_migrate_end', 'resume'], ['cold_migrate_end', 'resume'],
    ['unknown', undefined],
  ] as const)('%s → %s', (event, noticeClass) => {
    expect(noticeClassOf(event)).toBe(noticeClass);
  });
});

describe('EVENTS_AWAITING_REINIT (daemons §8.3)', () => {
  it('lists suspend, both migrate begins and reboot', () => {
    expect([...EVENTS_AWAITING_REINIT].sort()).toEqual(['cold_migrate_begin', 'live_migrate_begin', 'reboot', 'suspend']);
  });
});

describe('toVocabulary', () => {
  it('keeps a known value and maps anything else to the fallback', () => {
    expect(toVocabulary(VOTE_RESULTS, 'reject', 'unknown')).toBe('reject');
    expect(toVocabulary(VOTE_RESULTS, 'REJECT', 'unknown')).toBe('unknown');
    expect(toVocabulary(CORRECTIVE_ACTIONS, '', 'none')).toBe('none');
  });
});
