/**
 * A test application of the management API (client §8), written against the codec only: it connects to
 * the daemon's UNIX socket, registers, and answers challenges and action notifications as told.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import type { CorrectiveAction, Health } from '@guesthb/protocol';
import {
  AppMessageDecoder, DAEMON_TO_APP_KINDS, encodeAppMessage, type AppMessage, type AppVoteResult,
} from '../../src/index.js';

type Kind = AppMessage['type'];
type Of<K extends Kind> = Extract<AppMessage, { type: K }>;

export interface TestAppBehaviour {
  /** Echo challenges automatically (default true). */
  echo: boolean;
  /** Echo challenge + 1 instead. */
  wrongEcho: boolean;
  health: Health;
  action: CorrectiveAction;
  log: string;
  /** Answer action notifications with this vote; undefined = never answer. */
  vote: AppVoteResult | undefined;
  voteLog: string;
}

export class TestApp {
  readonly received: AppMessage[] = [];
  readonly behaviour: TestAppBehaviour = { echo: true, wrongEcho: false, health: 'healthy', action: 'reboot', log: '', vote: 'accept', voteLog: '' };
  readonly #decoder = new AppMessageDecoder(DAEMON_TO_APP_KINDS);
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const r of this.#decoder.push(chunk)) if (r.ok) this.#handle(r.message);
      for (const wake of this.#waiters) wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      for (const wake of this.#waiters) wake();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: AppMessage): void {
    this.socket.write(encodeAppMessage(message));
  }

  /** INIT; resolves with the INIT_ACK. */
  async register(name: string, intervalMs = 1000, options: { action?: CorrectiveAction; voteSecs?: number; noticeSecs?: number } = {}): Promise<Of<'init_ack'>> {
    const from = this.received.length;
    const n = options.noticeSecs ?? 5;
    this.send({
      type: 'init', applicationName: name, heartbeatIntervalMs: intervalMs, voteSecs: options.voteSecs ?? 8,
      shutdownNoticeSecs: n, suspendNoticeSecs: n, resumeNoticeSecs: n, correctiveAction: options.action ?? 'reboot',
    });
    return this.next('init_ack', from);
  }

  next<K extends Kind>(type: K, from = 0, timeoutMs = 5000): Promise<Of<K>> {
    return this.waitFor(() => this.received.slice(from).find((m): m is Of<K> => m.type === type), timeoutMs, `no ${type}`);
  }

  waitFor<R>(probe: () => R | undefined, timeoutMs = 5000, what = 'condition'): Promise<R> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined || value === false) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms: ${what}; got ${this.received.map((m) => m.type).join(',')}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const closing = once(this.socket, 'close');
    this.socket.destroy();
    await closing;
  }

  #handle(message: AppMessage): void {
    this.received.push(message);
    const b = this.behaviour;
    if (message.type === 'challenge' && b.echo) {
      this.send({
        type: 'challenge_response', heartbeatResponse: b.wrongEcho ? message.heartbeatChallenge + 1 : message.heartbeatChallenge,
        health: b.health, correctiveAction: b.action, logMsg: b.log,
      });
    }
    if (message.type === 'action_notify' && b.vote !== undefined) {
      this.send({ type: 'action_response', invocationId: message.invocationId, eventType: message.eventType, notificationType: message.notificationType, voteResult: b.vote, logMsg: b.voteLog });
    }
  }
}

export async function connectApp(path: string): Promise<TestApp> {
  const socket = createConnection(path);
  await once(socket, 'connect');
  return new TestApp(socket);
}
