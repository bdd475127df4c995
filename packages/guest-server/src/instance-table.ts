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
/** How long a deleted uuid stays deleted for discovery (issue 12 item 6): QEMU quits within seconds. */
export const TOMBSTONE_MS = 10 * 60_000;
/** Most tombstones kept (the oldest goes first). */
const MAX_TOMBSTONES = 10_000;

export interface InstanceTableDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** Read at each creation so a reload takes effect at once. */
  readonly maxInstances: () => number;
  /** Builds the session of a new record; the table only stores it. */
  readonly createSession: (uuid: string) => InstanceSession;
  /** A record forgot on its own (orphan channel gone): its persisted knowledge goes too. */
  readonly onForget?: (uuid: string) => void;
}

export class InstanceTable {
  readonly #deps: InstanceTableDeps;
  readonly #sessions = new Map<string, InstanceSession>();
  /** Deleted uuids → when the tombstone expires (monotonic ms), oldest first. */
  readonly #tombstones = new Map<string, number>();
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

  /**
   * A new record, or undefined when the table is full (logged, rate-limited) or, unless the agent asks
   * (`byAgent`: provision, restore), when the uuid was deleted recently: a channel found between the
   * agent's delete and QEMU quitting must not bring the instance back (issue 12 item 6).
   */
  create(uuid: string, byAgent = false): InstanceSession | undefined {
    if (byAgent) this.#tombstones.delete(uuid);
    else if (this.isDeleted(uuid)) return undefined;
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

  /**
   * Closes and drops the record; false when there is none. A tombstone is left either way: a channel that
   * shows up after the agent deleted an instance we never saw must not bring it back either.
   */
  delete(uuid: string): boolean {
    const session = this.#sessions.get(uuid);
    if (session !== undefined) {
      session.close();
      this.#sessions.delete(uuid);
    }
    this.#tombstones.delete(uuid);
    this.#tombstones.set(uuid, this.#deps.clock.now() + TOMBSTONE_MS);
    for (const old of this.#tombstones.keys()) {
      if (this.#tombstones.size <= MAX_TOMBSTONES) break;
      this.#tombstones.delete(old);
    }
    return session !== undefined;
  }

  /** A tombstone restored from the state directory, with the time it has left. */
  restoreTombstone(uuid: string, remainingMs: number): void {
    this.#tombstones.set(uuid, this.#deps.clock.now() + Math.min(remainingMs, TOMBSTONE_MS));
  }

  /** Deleted by the agent less than TOMBSTONE_MS ago (and not provisioned since). */
  isDeleted(uuid: string): boolean {
    const expiresAt = this.#tombstones.get(uuid);
    if (expiresAt === undefined) return false;
    if (this.#deps.clock.now() < expiresAt) return true;
    this.#tombstones.delete(uuid);
    return false;
  }

  /** A record the agent never provisioned goes with its channel; a provisioned one waits for it to return. */
  forgetIfOrphan(session: InstanceSession): void {
    if (session.provisioned || session.channelPath !== undefined) return;
    session.close();
    this.#sessions.delete(session.uuid);
    this.#deps.onForget?.(session.uuid);
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
