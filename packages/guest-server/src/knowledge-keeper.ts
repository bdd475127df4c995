/**
 * Keeps each instance's knowledge in the state directory's store (issue 12 item 1): written when a step
 * changed something worth keeping (init parameters, heartbeating, reporting, a loss, an init deadline, a
 * vote, the condition), deleted with the instance, read back at start. Also tracks each instance's
 * condition mark (since when, which event) for the agent's audit (protocol InstanceInfo `condition`).
 */
import type { Logger } from 'pino';
import type { KeyValueStore } from '@guesthb/outbox';
import type { InstanceInfo, PeerEventKind } from '@guesthb/protocol';
import {
  conditionOf, knowledgeChanged, knowledgeOf, parseKnowledge, restoredKnowledge,
  type ConditionMark, type Knowledge,
} from './instance-knowledge.js';
import type { InstanceSession } from './instance-session.js';
import type { InstanceState } from './instance-state.js';

export const INSTANCE_PREFIX = 'instance/';
export const HOST_KEY = 'host';
export const OUTBOX_PREFIX = 'outbox/';
/** Tombstones of deleted instances (value: wall-clock expiry ms), so a restart does not lift them. */
export const DELETED_PREFIX = 'deleted/';

/** Which event kind reports which condition (its id becomes conditionEventId). */
const REPORTED_BY: Readonly<Record<ConditionMark['condition'], PeerEventKind>> = {
  healthy: 'running',
  unhealthy: 'ill-health',
  failed: 'loss',
  'waiting-init': 'stopped',
  disconnected: 'stopped',
  'not-monitored': 'stopped',
};

export interface KnowledgeKeeperDeps {
  readonly store: KeyValueStore;
  readonly log: Logger;
  /** Wall-clock ms (condition marks). */
  readonly wallClockMs: () => number;
}

export class KnowledgeKeeper {
  readonly #deps: KnowledgeKeeperDeps;
  readonly #marks = new Map<string, ConditionMark>();
  /** Event ids an instance reported during the dispatch under way. */
  readonly #stepReports = new Map<string, Map<PeerEventKind, string>>();
  /** Persisted tombstones → wall-clock expiry, swept at each new one (bounded by deletes per TOMBSTONE_MS). */
  readonly #tombstones = new Map<string, number>();

  constructor(deps: KnowledgeKeeperDeps) {
    this.#deps = deps;
  }

  /** Host reporting as the agent last set it (true when never set). */
  hostReporting(): boolean {
    const v = this.#deps.store.get(HOST_KEY) as { reporting?: unknown } | undefined;
    return v?.reporting !== false;
  }

  setHostReporting(reporting: boolean): void {
    this.#deps.store.put(HOST_KEY, { reporting });
  }

  /** Persisted records, validated; a bad one is logged and deleted. */
  records(): { readonly uuid: string; readonly knowledge: Knowledge }[] {
    const out: { uuid: string; knowledge: Knowledge }[] = [];
    for (const [key, value] of [...this.#deps.store.entries()]) {
      if (!key.startsWith(INSTANCE_PREFIX)) continue;
      const uuid = key.slice(INSTANCE_PREFIX.length);
      const knowledge = parseKnowledge(value);
      if (knowledge === undefined) {
        this.#deps.log.error({ key }, 'persisted instance record does not validate: skipped');
        this.#deps.store.delete(key);
        continue;
      }
      out.push({ uuid, knowledge });
    }
    return out;
  }

  /** Puts a restored record back into a fresh session; its condition mark survives when still true. */
  restore(session: InstanceSession, knowledge: Knowledge): void {
    // The old mark first: the restore step keeps it if the condition is still the same, else starts a new one.
    const c = knowledge.condition;
    if (c !== undefined) this.#marks.set(session.uuid, { condition: c.kind, sinceMs: c.since, eventId: c.eventId });
    session.restore(restoredKnowledge(knowledge), knowledge.provisioned);   // its step writes the record once
  }

  /** An event was queued for this instance (called from the session's report effect). */
  reported(uuid: string, kind: PeerEventKind, eventId: string): void {
    let reports = this.#stepReports.get(uuid);
    if (reports === undefined) {
      reports = new Map();
      this.#stepReports.set(uuid, reports);
    }
    reports.set(kind, eventId);
  }

  /** After a dispatch changed the state: update the condition mark and write what changed. */
  onStep(session: InstanceSession, before: InstanceState): void {
    const reports = this.#stepReports.get(session.uuid);
    this.#stepReports.delete(session.uuid);
    const markChanged = this.#updateMark(session, reports);
    if (markChanged || knowledgeChanged(before, session.state)) this.persist(session);
  }

  persist(session: InstanceSession): void {
    this.#updateMark(session, undefined);
    this.#deps.store.put(INSTANCE_PREFIX + session.uuid, knowledgeOf(session.state, session.provisioned, this.#marks.get(session.uuid)));
  }

  forget(uuid: string): void {
    this.#marks.delete(uuid);
    this.#stepReports.delete(uuid);
    this.#deps.store.delete(INSTANCE_PREFIX + uuid);
  }

  /** A deleted instance: its tombstone survives a restart until `expiresAtMs` (wall clock). */
  tombstone(uuid: string, expiresAtMs: number): void {
    const now = this.#deps.wallClockMs();
    for (const [old, at] of this.#tombstones) {
      if (at > now) continue;
      this.#tombstones.delete(old);
      this.#deps.store.delete(DELETED_PREFIX + old);
    }
    this.#tombstones.set(uuid, expiresAtMs);
    this.#deps.store.put(DELETED_PREFIX + uuid, { expiresAtMs });
  }

  /** Provisioned again: the tombstone goes. */
  untomb(uuid: string): void {
    if (this.#tombstones.delete(uuid)) this.#deps.store.delete(DELETED_PREFIX + uuid);
  }

  /** Persisted tombstones still running, with the time left (ms); expired ones are deleted. */
  restoreTombstones(): { readonly uuid: string; readonly remainingMs: number }[] {
    const now = this.#deps.wallClockMs();
    const out: { uuid: string; remainingMs: number }[] = [];
    for (const [key, value] of [...this.#deps.store.entries()]) {
      if (!key.startsWith(DELETED_PREFIX)) continue;
      const uuid = key.slice(DELETED_PREFIX.length);
      const at = (value as { expiresAtMs?: unknown } | undefined)?.expiresAtMs;
      if (typeof at !== 'number' || at <= now) {
        this.#deps.store.delete(key);
        continue;
      }
      this.#tombstones.set(uuid, at);
      out.push({ uuid, remainingMs: at - now });
    }
    return out;
  }

  /** The optional condition keys of InstanceInfo. */
  conditionFields(session: InstanceSession): Pick<InstanceInfo, 'condition' | 'lossAction' | 'conditionSinceMs' | 'conditionEventId'> {
    this.#updateMark(session, undefined);
    const { condition, lossAction } = conditionOf(session.state);
    const mark = this.#marks.get(session.uuid);
    return {
      condition,
      ...(lossAction === undefined ? {} : { lossAction }),
      ...(mark === undefined ? {} : { conditionSinceMs: Math.max(0, Math.floor(mark.sinceMs)) }),
      ...(mark?.eventId === undefined ? {} : { conditionEventId: mark.eventId }),
    };
  }

  /** True when the mark changed. */
  #updateMark(session: InstanceSession, reports: ReadonlyMap<PeerEventKind, string> | undefined): boolean {
    const { condition } = conditionOf(session.state);
    const mark = this.#marks.get(session.uuid);
    const eventId = reports?.get(REPORTED_BY[condition]);
    if (mark !== undefined && mark.condition === condition && (eventId === undefined || eventId === mark.eventId)) return false;
    const sinceMs = mark !== undefined && mark.condition === condition ? mark.sinceMs : this.#deps.wallClockMs();
    this.#marks.set(session.uuid, { condition, sinceMs, eventId: eventId ?? (mark?.condition === condition ? mark.eventId : undefined) });
    return true;
  }
}
