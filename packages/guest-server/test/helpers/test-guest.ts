/**
 * A minimal test guest: listens on a UNIX socket in a temp dir as QEMU's chardev does, and speaks
 * protocol v3 through @guesthb/protocol. It answers challenges (healthy or not) and notices as told.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import {
  HOST_TO_GUEST_TYPES, WireDecoder, encodeMessage,
  type CorrectiveAction, type VoteResult, type WireBody, type WireMessage,
} from '@guesthb/protocol';

export interface TestGuestOptions {
  readonly path: string;
  readonly name?: string;
  readonly intervalMs?: number;
  readonly correctiveAction?: CorrectiveAction;
  readonly secs?: { vote?: number; shutdown?: number; suspend?: number; resume?: number; restart?: number };
  /** Send init as soon as the server connects (default true). */
  readonly autoInit?: boolean;
}

export class TestGuest extends EventEmitter {
  readonly path: string;
  readonly received: WireMessage[] = [];
  connections = 0;
  /** Answer challenges at all. */
  respond = true;
  health: 'healthy' | 'unhealthy' = 'healthy';
  unhealthyAction: CorrectiveAction = 'reboot';
  /** How to answer an action_notify; undefined = stay silent. */
  vote: ((m: WireMessage & { msg_type: 'action_notify' }) => { result: VoteResult; logMsg: string } | undefined) | undefined =
    () => ({ result: 'accept', logMsg: '' });
  invocationId = 1000;
  readonly #options: TestGuestOptions;
  #server: Server | undefined;
  #socket: Socket | undefined;
  #sequence = 0;

  constructor(options: TestGuestOptions) {
    super();
    this.path = options.path;
    this.#options = options;
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  async listen(): Promise<void> {
    const server = createServer((socket) => this.#onConnection(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
  }

  sendInit(overrides: Partial<Record<string, unknown>> = {}): void {
    const s = this.#options.secs ?? {};
    this.invocationId++;
    this.send({
      msg_type: 'init', sequence: 0, invocation_id: this.invocationId, name: this.#options.name ?? 'test-vm',
      heartbeat_interval_ms: this.#options.intervalMs ?? 1000, vote_secs: s.vote ?? 10, shutdown_notice_secs: s.shutdown ?? 10,
      suspend_notice_secs: s.suspend ?? 10, resume_notice_secs: s.resume ?? 10, restart_secs: s.restart ?? 120,
      corrective_action: this.#options.correctiveAction ?? 'reboot', ...overrides,
    } as WireBody);
  }

  send(body: WireBody): void {
    this.#sequence++;
    this.sendRaw(encodeMessage({ ...body, sequence: this.#sequence } as WireBody));
  }

  sendRaw(data: string | Uint8Array): void {
    this.#socket?.write(data);
  }

  /** Drops the current connection (as a guest-side hang-up / QEMU restart would). */
  dropConnection(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  messages<T extends WireMessage['msg_type']>(type: T): (WireMessage & { msg_type: T })[] {
    return this.received.filter((m): m is WireMessage & { msg_type: T } => m.msg_type === type);
  }

  async close(): Promise<void> {
    this.dropConnection();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  #onConnection(socket: Socket): void {
    this.#socket?.destroy();
    this.#socket = socket;
    this.connections++;
    const decoder = new WireDecoder(HOST_TO_GUEST_TYPES);
    socket.on('data', (chunk) => {
      for (const r of decoder.push(chunk)) if (r.ok) this.#onMessage(r.message);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.emit('disconnected');
    });
    this.emit('connected');
    if (this.#options.autoInit ?? true) this.sendInit();
  }

  #onMessage(m: WireMessage): void {
    this.received.push(m);
    this.emit('message', m);
    if (m.msg_type === 'challenge' && this.respond) {
      this.send({
        msg_type: 'challenge_response', sequence: 0, heartbeat_response: m.heartbeat_challenge, heartbeat_health: this.health,
        corrective_action: this.health === 'healthy' ? 'reboot' : this.unhealthyAction, log_msg: this.health === 'healthy' ? '' : 'test unhealthy',
      });
    } else if (m.msg_type === 'action_notify') {
      const answer = this.vote?.(m);
      if (answer !== undefined) {
        this.send({
          msg_type: 'action_response', sequence: 0, invocation_id: m.invocation_id, event_type: m.event_type,
          notification_type: m.notification_type, vote_result: answer.result, log_msg: answer.logMsg,
        });
      }
    }
  }
}
