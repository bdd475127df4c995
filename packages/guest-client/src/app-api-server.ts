/**
 * The management API listener (client §8), the I/O edge of app-api-machine.ts: a UNIX SOCK_STREAM server
 * at /var/run/.guest_heartbeat_api (configurable), at most 16 application connections, one decoder, one
 * reducer state and its timers per connection. It is the ClientSession's AppsPort: it reports the
 * registered apps' health and runs their votes.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock, EventType, NotificationType, TimerHandle } from '@guesthb/protocol';
import { APP_TO_DAEMON_KINDS, AppMessageDecoder, encodeAppMessage, type AppMessage } from './app-api-codec.js';
import {
  INITIAL_APP_STATE, stepApp,
  type AppEffect, type AppEvent, type AppPolicy, type AppState, type AppTimerName,
} from './app-api-machine.js';
import { SCHEDULING_DELAY_MS } from './client-machine.js';
import type { PartyResult } from './client-rules.js';
import type { AppHealthView, AppsPort, AppsView, AppVoteRun } from './client-session.js';
import { GuestClientError } from './errors.js';

/** Application connections served at once (client §8 "Capacity"). */
export const MAX_APP_CONNECTIONS = 16;
/** listen() backlog of the original. */
export const APP_API_BACKLOG = 32;
/** An application that leaves this much of our output unread is dropped (our bound; 287 messages). */
export const MAX_APP_PENDING_WRITE_BYTES = 64 * 1024;

export interface AppApiServerDeps {
  readonly path: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Challenge values and per-app invocation ids (rand() in the reference client). */
  readonly nextRandom: () => number;
  readonly maxConnections?: number;
}

type VoteSink = (result: PartyResult, log: string) => void;

class AppConnection {
  state: AppState = INITIAL_APP_STATE;
  sequence = 0;
  readonly timers: Partial<Record<AppTimerName, TimerHandle>> = {};
  readonly decoder = new AppMessageDecoder(APP_TO_DAEMON_KINDS);
  voteSink: VoteSink | undefined;
  closed = false;
  constructor(readonly id: number, readonly socket: Socket) {}
}

export class AppApiServer implements AppsPort {
  readonly #deps: AppApiServerDeps;
  readonly #policy: AppPolicy;
  readonly #connections = new Map<number, AppConnection>();
  #server: Server | undefined;
  #nextId = 0;
  #listening = false;
  /** When one of our timers last fired ≥ 800 ms late (client §6 "not scheduling on time"). */
  #lastSchedulingDelayAt: number | undefined;
  #closed = false;

  constructor(deps: AppApiServerDeps) {
    this.#deps = deps;
    this.#policy = { nextChallenge: deps.nextRandom };
  }

  get path(): string {
    return this.#deps.path;
  }

  /** Open connections, registered or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Names of the registered applications, in connection order. */
  get registeredNames(): string[] {
    return this.#registered().map((c) => (c.state.kind === 'registered' ? c.state.registration.name : ''));
  }

  /** Removes a stale socket file, binds and listens. */
  async start(): Promise<void> {
    if (this.#server !== undefined || this.#closed) throw new GuestClientError('GC_ERR_APP_API_FAILED', 'application API server started twice or after close()');
    const { path, log } = this.#deps;
    try {
      await rm(path, { force: true });                                        // stale socket of a previous run (client §8)
    } catch (err) {
      throw new GuestClientError('GC_ERR_APP_API_FAILED', `cannot remove stale ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new GuestClientError('GC_ERR_APP_API_FAILED', `cannot listen on ${path}: ${err.code ?? err.message}`, { cause: err })));
      server.listen({ path, backlog: APP_API_BACKLOG }, () => resolve());
    });
    this.#listening = true;
    server.on('error', (err) => log.error({ err, code: 'GC_ERR_APP_API_FAILED' }, 'application API server error'));
    log.info({ path }, 'application API listening');
  }

  /** Drops every application, stops listening and removes the socket file (the original left it); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [...this.#connections.values()]) this.#drop(conn, 'server closing');
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Only a file we bound is ours to remove.
    if (this.#listening) await rm(this.#deps.path, { force: true }).catch(() => undefined);
  }

  /** The registered applications' health, for the challenge_response (client §5). */
  view(): AppsView {
    const registered = this.#registered();
    const health: AppHealthView[] = [];
    for (const c of registered) {
      if (c.state.kind === 'registered') health.push({ name: c.state.registration.name, health: c.state.health, action: c.state.action, log: c.state.log });
    }
    return { voters: registered.length, health };
  }

  /**
   * Sends ACTION_NOTIFY to every registered application, each with its own invocation id and deadline
   * (client §7.3). Each answers once through `onResult` (accept/reject/complete; `timeout` at its own
   * deadline; `error` when it deregisters or disconnects first); never synchronously.
   */
  startVote(eventType: EventType, notificationType: NotificationType, onResult: VoteSink): AppVoteRun {
    const group = this.#registered();
    for (const conn of group) {
      const invocationId = this.#deps.nextRandom();
      conn.voteSink = onResult;
      this.#dispatch(conn, { type: 'vote', vote: { invocationId, eventType, notificationType } });
    }
    return {
      notified: group.length,
      cancel: () => {
        for (const conn of group) {
          if (conn.voteSink !== onResult) continue;
          conn.voteSink = undefined;
          if (!conn.closed) this.#dispatch(conn, { type: 'cancel-vote' });
        }
      },
    };
  }

  #registered(): AppConnection[] {
    return [...this.#connections.values()].filter((c) => c.state.kind === 'registered');
  }

  #accept(socket: Socket): void {
    const { log } = this.#deps;
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const max = this.#deps.maxConnections ?? MAX_APP_CONNECTIONS;
    if (this.#connections.size >= max) {
      const idle = [...this.#connections.values()].find((c) => c.state.kind !== 'registered');
      if (idle === undefined) {
        // Every slot holds a registered app: the newcomer is refused (the original's behaviour here is not known).
        log.warn({ max }, 'application connection refused: every slot holds a registered application');
        socket.destroy();
        return;
      }
      log.warn({ conn: idle.id, max }, 'application connection evicted (not registered) to make room');
      this.#drop(idle, 'evicted');
    }
    const conn = new AppConnection(++this.#nextId, socket);
    this.#connections.set(conn.id, conn);
    log.debug({ conn: conn.id }, 'application connected');
    socket.on('data', (chunk: Buffer) => this.#receive(conn, chunk));
    socket.on('error', (err) => log.debug({ conn: conn.id, err }, 'application socket error'));
    socket.on('close', () => this.#drop(conn, 'closed'));
  }

  #receive(conn: AppConnection, chunk: Buffer): void {
    for (const result of conn.decoder.push(chunk)) {
      if (conn.closed) return;
      if (result.ok) this.#dispatch(conn, { type: 'message', message: result.message });
      else this.#deps.log.debug({ conn: conn.id, reason: result.reason, detail: result.detail }, 'application bytes dropped');
    }
  }

  #drop(conn: AppConnection, why: string): void {
    if (conn.closed) return;
    this.#dispatch(conn, { type: 'closed' });
    conn.closed = true;
    this.#connections.delete(conn.id);
    for (const name of Object.keys(conn.timers) as AppTimerName[]) this.#clearTimer(conn, name);
    conn.socket.destroy();
    this.#deps.log.debug({ conn: conn.id, why }, 'application connection dropped');
  }

  #dispatch(conn: AppConnection, event: AppEvent): void {
    if (conn.closed) return;
    const [next, effects] = stepApp(this.#policy, conn.state, event);
    conn.state = next;
    for (const effect of effects) this.#perform(conn, effect);
  }

  #perform(conn: AppConnection, effect: AppEffect): void {
    switch (effect.type) {
      case 'send':
        this.#send(conn, effect.message);
        return;
      case 'set-timer':
        this.#setTimer(conn, effect.timer, effect.delayMs);
        return;
      case 'clear-timer':
        this.#clearTimer(conn, effect.timer);
        return;
      case 'vote-result': {
        const sink = conn.voteSink;
        conn.voteSink = undefined;
        // Deliver outside this dispatch: the session may start or cancel votes in its own reaction.
        if (sink !== undefined) queueMicrotask(() => sink(effect.result, effect.log));
        return;
      }
      case 'log':
        this.#deps.log[effect.level]({ conn: conn.id, ...effect.fields }, effect.msg);
        return;
    }
  }

  #send(conn: AppConnection, message: AppMessage): void {
    if (conn.socket.destroyed) return;
    if (conn.socket.writableLength > MAX_APP_PENDING_WRITE_BYTES) {
      this.#deps.log.warn({ conn: conn.id }, 'application does not read its socket; dropped');
      queueMicrotask(() => this.#drop(conn, 'not reading'));
      return;
    }
    conn.sequence = (conn.sequence + 1) >>> 0;
    conn.socket.write(encodeAppMessage({ ...message, sequence: conn.sequence }));
  }

  /** (Re)arms one of the connection's timers; a firing ≥ 800 ms late marks "not scheduling on time" (client §6). */
  #setTimer(conn: AppConnection, timer: AppTimerName, delayMs: number): void {
    this.#clearTimer(conn, timer);
    const { clock } = this.#deps;
    const dueAt = clock.now() + delayMs;
    conn.timers[timer] = clock.setTimeout(() => {
      delete conn.timers[timer];
      const now = clock.now();
      if (now - dueAt >= SCHEDULING_DELAY_MS) this.#lastSchedulingDelayAt = now;
      const since = this.#lastSchedulingDelayAt === undefined ? undefined : now - this.#lastSchedulingDelayAt;
      this.#dispatch(conn, since === undefined ? { type: 'timer', timer } : { type: 'timer', timer, sinceSchedulingDelayMs: since });
    }, delayMs);
  }

  #clearTimer(conn: AppConnection, name: AppTimerName): void {
    const handle = conn.timers[name];
    if (handle !== undefined) this.#deps.clock.clearTimeout(handle);
    delete conn.timers[name];
  }
}
