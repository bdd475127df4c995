/**
 * A small v3 host peer for checking the VM side on its own: it connects to the channel socket QEMU listens
 * on, as guest-server does, decodes what the guest sends and lets the test answer init and send challenges.
 */
import { createConnection, type Socket } from 'node:net';
import {
  GUEST_TO_HOST_TYPES, WireDecoder, encodeMessage, type WireBody, type WireMessage,
} from '@guesthb/protocol';
import { waitForValue } from '../../helpers/wait.js';

export interface ReceivedMessage {
  readonly message: WireMessage;
  /** performance.now() at receipt. */
  readonly atMs: number;
}

export class HostPeer {
  /** Every valid message received, in order. */
  readonly received: ReceivedMessage[] = [];
  /** Lines the decoder refused (a correct guest sends none). */
  readonly refused: string[] = [];
  readonly #socket: Socket;
  readonly #decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
  #sequence = 0;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const atMs = performance.now();
      for (const result of this.#decoder.push(chunk)) {
        if (result.ok) this.received.push({ message: result.message, atMs });
        else this.refused.push(`${result.code}: ${result.reason}`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  static async connect(path: string): Promise<HostPeer> {
    const socket = createConnection({ path });
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', resolveConnect);
      socket.once('error', reject);
    });
    return new HostPeer(socket);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Waits for the first message after index `from` that satisfies `match`. */
  async expect<M extends WireMessage>(
    match: (message: WireMessage) => message is M,
    timeoutMs: number,
    from = 0,
  ): Promise<ReceivedMessage & { readonly message: M; readonly index: number }> {
    return waitForValue(() => {
      for (let i = from; i < this.received.length; i++) {
        const entry = this.received[i];
        if (entry !== undefined && match(entry.message)) return { ...entry, message: entry.message as M, index: i };
      }
      return undefined;
    }, timeoutMs, 'a message from the guest', 5);
  }

  /** Sends one host → guest message with the host's own sequence; returns performance.now() when written. */
  send(body: WireBody): number {
    this.#sequence += 1;
    this.#socket.write(encodeMessage({ ...body, sequence: this.#sequence } as WireBody));
    return performance.now();
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Type guards for HostPeer.expect. */
export const isInit = (m: WireMessage): m is Extract<WireMessage, { msg_type: 'init' }> => m.msg_type === 'init';
export const isResponse = (m: WireMessage): m is Extract<WireMessage, { msg_type: 'challenge_response' }> =>
  m.msg_type === 'challenge_response';
export const isActionResponse = (m: WireMessage): m is Extract<WireMessage, { msg_type: 'action_response' }> =>
  m.msg_type === 'action_response';
