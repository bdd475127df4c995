/**
 * The instance table: one InstanceSession per uuid (STYLE.md R5, all state of an instance on one object),
 * bounded by max_instances. The table decides when a record exists; the sessions do the rest.
 */
import type { Logger } from 'pino';
import type { Clock } from '@guesthb/protocol';
import type { InstanceSession } from './instance-session.js';
import { hbStateName } from './instance-state.js';

/** A full table is logged at most once per this period. */
const TABLE_FULL_LOG_PERIOD_MS = 60_000;

export interface InstanceTableDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** Read at each creation so a reload takes effect at once. */
  readonly maxInstances: () => number;
  /** Builds the session of a new record; the table only stores it. */
  readonly createSession: (uuid: string) => InstanceSession;
}

export class InstanceTable {
  readonly #deps: InstanceTableDeps;
  readonly #sessions = new Map<string, InstanceSession>();
  #fullLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(deps: InstanceTableDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(uuid: string): InstanceSession | undefined {
    return this.#sessions.get(uuid);
  }

  values(): IterableIterator<InstanceSession> {
    return this.#sessions.values();
  }

  /** A new record, or undefined when the table is full (logged, rate-limited). */
  create(uuid: string): InstanceSession | undefined {
    const maxInstances = this.#deps.maxInstances();
    if (this.#sessions.size >= maxInstances) {
      const now = this.#deps.clock.now();
      if (now - this.#fullLoggedAt > TABLE_FULL_LOG_PERIOD_MS) {
        this.#fullLoggedAt = now;
        this.#deps.log.error({ uuid, maxInstances }, 'instance table full; instance ignored');
      }
      return undefined;
    }
    const session = this.#deps.createSession(uuid);
    this.#sessions.set(uuid, session);
    return session;
  }

  /** Closes and drops the record; false when there is none. */
  delete(uuid: string): boolean {
    const session = this.#sessions.get(uuid);
    if (session === undefined) return false;
    session.close();
    this.#sessions.delete(uuid);
    return true;
  }

  /** A record the agent never provisioned goes with its channel; a provisioned one waits for it to return. */
  forgetIfOrphan(session: InstanceSession): void {
    if (session.provisioned || session.channelPath !== undefined) return;
    session.close();
    this.#sessions.delete(session.uuid);
    this.#deps.log.info({ uuid: session.uuid }, 'channel gone; instance forgotten');
  }

  /** Shutdown: every session stops; the records stay for a last query. */
  closeAll(): void {
    for (const session of this.#sessions.values()) session.close();
  }

  /** Sessions per heartbeat state, for the gauge (every state present, zeros included). */
  countByState(): Map<string, number> {
    const counts = new Map<string, number>([['disconnected', 0], ['server_waiting_init', 0], ['server_waiting_response', 0], ['server_waiting_challenge', 0]]);
    for (const session of this.#sessions.values()) {
      const name = hbStateName(session.state);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  }
}
