/**
 * What guest-server must not forget across a restart (issue 12 item 1), pure: the persisted record of one
 * instance, its schema (a record read back from disk is validated, a bad one is skipped), the cheap
 * "did anything worth writing change" test of the hot path, and the instance's condition for the agent's
 * audit (protocol InstanceInfo `condition`).
 */
import { z } from 'zod';
import { CORRECTIVE_ACTIONS, EVENT_TYPES, INSTANCE_CONDITIONS, type CorrectiveAction, type InstanceCondition } from '@guesthb/protocol';
import type { RestoredKnowledge } from './init-deadline.js';
import type { GuestParams, InstanceState } from './instance-state.js';

const SecsSchema = z.number().int().min(0).max(2 ** 31);

/** The persisted record (journal key `instance/<uuid>`). */
export const KnowledgeSchema = z.object({
  v: z.literal(1),
  provisioned: z.boolean(),
  reporting: z.boolean(),
  heartbeating: z.boolean(),
  awaitingInit: z.boolean(),
  lost: z.enum(CORRECTIVE_ACTIONS).optional(),
  params: z.object({
    invocationId: z.number().int(),
    name: z.string().max(1024),
    correctiveAction: z.enum(CORRECTIVE_ACTIONS),
    intervalMs: z.number().int().min(1).max(2 ** 31),
    voteSecs: SecsSchema,
    shutdownSecs: SecsSchema,
    suspendSecs: SecsSchema,
    resumeSecs: SecsSchema,
    restartSecs: SecsSchema,
  }),
  vote: z.object({ event: z.enum(EVENT_TYPES), notificationType: z.enum(['revocable', 'irrevocable']) }).optional(),
  /** An agreed pause/suspend/migration under way (losing the guest is expected: no init deadline). */
  departure: z.object({ event: z.enum(EVENT_TYPES), kind: z.enum(['parked', 'moving']) }).optional(),
  condition: z.object({
    kind: z.enum(INSTANCE_CONDITIONS),
    since: z.number().nonnegative(),
    eventId: z.string().max(128).optional(),
  }).optional(),
});
export type Knowledge = z.infer<typeof KnowledgeSchema>;

/** Condition bookkeeping kept with the record: since when (wall-clock ms) and by which event. */
export interface ConditionMark {
  readonly condition: InstanceCondition;
  readonly sinceMs: number;
  readonly eventId: string | undefined;
}

/** The record of an instance now. */
export function knowledgeOf(s: InstanceState, provisioned: boolean, mark: ConditionMark | undefined): Knowledge {
  const v = s.vote;
  return {
    v: 1,
    provisioned,
    reporting: s.reporting,
    heartbeating: s.heartbeating,
    awaitingInit: s.initDeadline !== undefined,
    ...(s.lost === undefined ? {} : { lost: s.lost }),
    params: s.params,   // immutable: shared with the state, not copied (a copy per instance, issue 17 item 4)
    ...(v.kind === 'pending' ? { vote: { event: v.event, notificationType: v.notificationType } } : {}),
    ...(s.departure === undefined ? {} : { departure: { event: s.departure.event, kind: s.departure.kind } }),
    ...(mark === undefined ? {} : { condition: { kind: mark.condition, since: mark.sinceMs, ...(mark.eventId === undefined ? {} : { eventId: mark.eventId }) } }),
  };
}

/** A record read back; undefined when it does not validate. */
export function parseKnowledge(value: unknown): Knowledge | undefined {
  const parsed = KnowledgeSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The restore input of the reducer. */
export function restoredKnowledge(k: Knowledge): RestoredKnowledge {
  return {
    params: k.params satisfies GuestParams,
    reporting: k.reporting,
    heartbeating: k.heartbeating,
    awaitingInit: k.awaitingInit,
    lost: k.lost,
    vote: k.vote,
    departure: k.departure,
  };
}

/**
 * Whether a step changed anything persisted. Compared by identity and value of a few fields, so the hot
 * path (a challenge, a healthy response) costs a handful of comparisons and no serialisation.
 */
export function knowledgeChanged(a: InstanceState, b: InstanceState): boolean {
  return a.params !== b.params || a.heartbeating !== b.heartbeating || a.reporting !== b.reporting
    || a.lost !== b.lost || a.departure !== b.departure || (a.initDeadline === undefined) !== (b.initDeadline === undefined)
    || (a.vote.kind === 'pending') !== (b.vote.kind === 'pending') || (a.vote.kind === 'pending' && a.vote !== b.vote && b.vote.kind === 'pending' && a.vote.event !== b.vote.event);
}

/** The instance's condition (protocol INSTANCE_CONDITIONS) and the corrective action that goes with it. */
export function conditionOf(s: InstanceState): { readonly condition: InstanceCondition; readonly lossAction: CorrectiveAction | undefined } {
  if (s.lost !== undefined) return { condition: 'failed', lossAction: s.lost };
  // Restored as heartbeating, or reconnected: not confirmed until the init.
  if (s.initDeadline !== undefined) return WAITING_INIT;
  if (s.heartbeating) {
    const u = s.unhealthy;
    if (u !== undefined && u.action !== 'none' && u.action !== 'unknown') return { condition: 'unhealthy', lossAction: u.action };
    return HEALTHY;
  }
  if (s.link.kind === 'connected') {
    // Initialised, first answer pending: heartbeating expected but not confirmed (a loss follows if none).
    return s.cycle.kind === 'cycling' ? WAITING_INIT : NOT_MONITORED;
  }
  return DISCONNECTED;
}

/** The answers without a loss action, shared: conditionOf runs after every step (issue 17). */
const HEALTHY = Object.freeze({ condition: 'healthy', lossAction: undefined } as const);
const WAITING_INIT = Object.freeze({ condition: 'waiting-init', lossAction: undefined } as const);
const NOT_MONITORED = Object.freeze({ condition: 'not-monitored', lossAction: undefined } as const);
const DISCONNECTED = Object.freeze({ condition: 'disconnected', lossAction: undefined } as const);
