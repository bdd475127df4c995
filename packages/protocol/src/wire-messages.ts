/**
 * zod schemas of the 8 host↔guest messages (daemons §1.6, client §4). Tolerant readers: unknown keys
 * are stripped, vocabulary values outside the enums become 'unknown', free text is cut to its limit.
 */
import { z } from 'zod';
import {
  INT32_MAX, INT32_MIN, MAX_LOG_CHARS, MAX_NAME_CHARS, MAX_VALUE_CHARS, PROTOCOL_VERSION,
} from './constants.js';
import {
  CORRECTIVE_ACTIONS, EVENT_TYPES, NOTIFICATION_TYPES, VOTE_RESULTS, toVocabulary,
  type CorrectiveAction, type EventType, type Health, type NotificationType, type VoteResult,
} from './enums.js';

/**
 * An integer as the reference implementations read it with json_object_get_int: integral JSON numbers,
 * clamped to int32 (client §3: 3000000000 → 2147483647), beyond 2^53 too (zod's int() would refuse those).
 * Booleans and fractions are refused, where the C server wrote a double into an int (daemons §1.5, §9 item 24).
 */
export const Int32Schema = z   // [WIRE-5]
  .number()
  .refine((n) => Number.isInteger(n), 'expected an integer')
  .transform((n) => Math.min(INT32_MAX, Math.max(INT32_MIN, n)));

/** A token-like string value: msg_type, event_type, corrective_action … (≤ 32 characters, client §3). [WIRE-6] */
const TokenSchema = z.string().max(MAX_VALUE_CHARS);
/** Free text is cut, not refused: a chatty health script must never cost a heartbeat response. [WIRE-7] */
const freeText = (maxChars: number): z.ZodType<string, string> => z.string().transform((s) => s.slice(0, maxChars));
const vocabulary = <T extends string>(values: readonly T[]): z.ZodType<T, string> =>
  TokenSchema.transform((s) => toVocabulary(values, s, 'unknown' as T));

const CorrectiveActionSchema = vocabulary<CorrectiveAction>(CORRECTIVE_ACTIONS);
const EventTypeSchema = vocabulary<EventType>(EVENT_TYPES);
const NotificationTypeSchema = vocabulary<NotificationType>(NOTIFICATION_TYPES);
const VoteResultSchema = vocabulary<VoteResult>(VOTE_RESULTS);
/** Anything but `healthy` counts as unhealthy (daemons §1.6 challenge_response). */
const HealthSchema: z.ZodType<Health, string> = TokenSchema.transform((s) => (s === 'healthy' ? 'healthy' : 'unhealthy'));

/** The header every message begins with (daemons §1.6). `version` ≥ 3 is checked by the decoder for its nack text. */
export const HeaderSchema = z.object({
  version: Int32Schema,
  revision: Int32Schema,
  msg_type: TokenSchema,
  sequence: Int32Schema,
});

export const InitSchema = HeaderSchema.extend({
  msg_type: z.literal('init'),
  invocation_id: Int32Schema,
  name: freeText(MAX_NAME_CHARS),
  heartbeat_interval_ms: Int32Schema,
  vote_secs: Int32Schema,
  shutdown_notice_secs: Int32Schema,
  suspend_notice_secs: Int32Schema,
  resume_notice_secs: Int32Schema,
  restart_secs: Int32Schema,
  corrective_action: CorrectiveActionSchema,
});
export const InitAckSchema = HeaderSchema.extend({
  msg_type: z.literal('init_ack'),
  invocation_id: Int32Schema,
});
export const ChallengeSchema = HeaderSchema.extend({
  msg_type: z.literal('challenge'),
  heartbeat_challenge: Int32Schema,
});
export const ChallengeResponseSchema = HeaderSchema.extend({
  msg_type: z.literal('challenge_response'),
  heartbeat_response: Int32Schema,
  heartbeat_health: HealthSchema,
  corrective_action: CorrectiveActionSchema,
  log_msg: freeText(MAX_LOG_CHARS),
});
export const ActionNotifySchema = HeaderSchema.extend({
  msg_type: z.literal('action_notify'),
  invocation_id: Int32Schema,
  event_type: EventTypeSchema,
  notification_type: NotificationTypeSchema,
  timeout_ms: Int32Schema,
});
export const ActionResponseSchema = HeaderSchema.extend({
  msg_type: z.literal('action_response'),
  invocation_id: Int32Schema,
  event_type: EventTypeSchema,
  notification_type: NotificationTypeSchema,
  vote_result: VoteResultSchema,
  log_msg: freeText(MAX_LOG_CHARS),
});
export const ExitSchema = HeaderSchema.extend({
  msg_type: z.literal('exit'),
  log_msg: freeText(MAX_LOG_CHARS),
});
export const NackSchema = HeaderSchema.extend({
  msg_type: z.literal('nack'),
  invocation_id: Int32Schema,
  log_msg: freeText(MAX_LOG_CHARS),
});

export const WireMessageSchema = z.discriminatedUnion('msg_type', [
  InitSchema, InitAckSchema, ChallengeSchema, ChallengeResponseSchema,
  ActionNotifySchema, ActionResponseSchema, ExitSchema, NackSchema,
]);

export type InitMessage = z.output<typeof InitSchema>;
export type InitAckMessage = z.output<typeof InitAckSchema>;
export type ChallengeMessage = z.output<typeof ChallengeSchema>;
export type ChallengeResponseMessage = z.output<typeof ChallengeResponseSchema>;
export type ActionNotifyMessage = z.output<typeof ActionNotifySchema>;
export type ActionResponseMessage = z.output<typeof ActionResponseSchema>;
export type ExitMessage = z.output<typeof ExitSchema>;
export type NackMessage = z.output<typeof NackSchema>;
export type WireMessage = z.output<typeof WireMessageSchema>;

/** A message body without its header: what a sender fills in; the encoder adds version and revision. */
export type WireBody<M extends WireMessage = WireMessage> = M extends WireMessage
  ? Omit<M, 'version' | 'revision'>
  : never;

/** Schema per message type, for the decoder. */
export const SCHEMA_BY_TYPE = {
  init: InitSchema,
  init_ack: InitAckSchema,
  challenge: ChallengeSchema,
  challenge_response: ChallengeResponseSchema,
  action_notify: ActionNotifySchema,
  action_response: ActionResponseSchema,
  exit: ExitSchema,
  nack: NackSchema,
} as const;

/**
 * Key order of each message after the header, exactly as the reference implementations write it
 * (daemons §1.6 for host messages, client §4.1 for guest messages). The encoder follows it, and the
 * decoder reports the first missing key in this order.
 */
export const KEY_ORDER: { readonly [T in WireMessage['msg_type']]: readonly string[] } = {
  init: [
    'invocation_id', 'name', 'heartbeat_interval_ms', 'vote_secs', 'shutdown_notice_secs',
    'suspend_notice_secs', 'resume_notice_secs', 'restart_secs', 'corrective_action',
  ],
  init_ack: ['invocation_id'],
  challenge: ['heartbeat_challenge'],
  challenge_response: ['heartbeat_response', 'heartbeat_health', 'corrective_action', 'log_msg'],
  action_notify: ['invocation_id', 'event_type', 'notification_type', 'timeout_ms'],
  action_response: ['invocation_id', 'event_type', 'notification_type', 'vote_result', 'log_msg'],
  exit: ['log_msg'],
  nack: ['invocation_id', 'log_msg'],
};

/** The header keys, in wire order. */
export const HEADER_KEYS = ['version', 'revision', 'msg_type', 'sequence'] as const;

/**
 * Free-text keys and their C buffer sizes (NUL included). The decoder cuts received text to this many
 * characters; the encoder writes at most size − 1 UTF-8 bytes, as the reference client's snprintf does
 * (client §3: log_msg cut at 223), so a reference guest's strcpy into the buffer never overflows.
 */
export const FREE_TEXT_LIMITS: Readonly<Record<string, number>> = { name: MAX_NAME_CHARS, log_msg: MAX_LOG_CHARS };

/** Every limit a sender must keep, for documentation and tests. */
export const VALUE_LIMITS = { tokenChars: MAX_VALUE_CHARS, nameChars: MAX_NAME_CHARS, logChars: MAX_LOG_CHARS } as const;

export { PROTOCOL_VERSION };
