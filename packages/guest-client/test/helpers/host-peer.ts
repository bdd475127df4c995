/**
 * A minimal host peer for tests (the guest-server's part, built only on @guesthb/protocol): it connects to
 * a simulated guest's socket as guest-server does, or listens for a client that connects (socket mode).
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  GUEST_TO_HOST_TYPES, WireDecoder, encodeMessage, type WireBody, type WireMessage,
} from '@guesthb/protocol';

/** A message body without its sequence, kept per message type (Omit over the union would keep only shared keys). */
type Unsequenced = WireBody extends infer B ? (B extends WireBody ? Omit<B, 'sequence'> : never) : never;

export class HostPeer {
  readonly messages: WireMessage[] = [];
  readonly rejected: string[] = [];
  /** Every byte received, for byte-exact checks. */
  raw = '';
  /** Number of data chunks received (split messages arrive in several). */
  chunks = 0;
  #sequence = 0;
  readonly #decoder = new WireDecoder(GUEST_TO_HOST_TYPES);
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw += chunk.toString('utf8');
      this.chunks++;
      for (const result of this.#decoder.push(chunk)) {
        if (result.ok) this.messages.push(result.message);
        else this.rejected.push(result.code);
      }
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

  /** Sends a host message with the host's own sequence. */
  send(body: Unsequenced): void {
    this.#sequence++;
    this.socket.write(encodeMessage({ ...body, sequence: this.#sequence } as WireBody));
  }

  sendRaw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the first message (from index `from`) that matches, within `timeoutMs`. */
  async next<T extends WireMessage['msg_type']>(
    type: T, from = 0, timeoutMs = 5000,
  ): Promise<Extract<WireMessage, { msg_type: T }>> {
    const found = await this.waitFor(() => this.messages.slice(from).find((m) => m.msg_type === type), timeoutMs, `no ${type}`);
    return found as Extract<WireMessage, { msg_type: T }>;
  }

  /** Polls `probe` on every received chunk until it returns a value. */
  waitFor<R>(probe: () => R | undefined, timeoutMs = 5000, what = 'condition'): Promise<R> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined || value === false) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.messages.map((m) => m.msg_type).join(',')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = (): void => {
        check();
      };
      if (!check()) this.#waiters.add(wake);
    });
  }

  /** init → init_ack; returns the init. */
  async handshake(from = 0): Promise<Extract<WireMessage, { msg_type: 'init' }>> {
    const init = await this.next('init', from);
    this.send({ msg_type: 'init_ack', invocation_id: init.invocation_id });
    return init;
  }

  /** Sends a challenge and waits for its response. */
  async challenge(value: number, timeoutMs = 5000): Promise<Extract<WireMessage, { msg_type: 'challenge_response' }>> {
    const from = this.messages.length;
    this.send({ msg_type: 'challenge', heartbeat_challenge: value });
    return this.next('challenge_response', from, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const closing = once(this.socket, 'close');
    this.socket.destroy();
    await closing;
  }
}

/** Connects to a QEMU-style guest socket (the simulator), as guest-server does. */
export async function connectHost(path: string): Promise<HostPeer> {
  const socket = createConnection(path);
  await once(socket, 'connect');
  return new HostPeer(socket);
}

/** Listens on `path` for a client in socket mode; resolves peers as they connect. */
export class HostListener {
  readonly peers: HostPeer[] = [];
  readonly #server: Server;
  readonly #waiters = new Set<() => void>();

  constructor(readonly path: string) {
    this.#server = createServer((socket) => {
      this.peers.push(new HostPeer(socket));
      for (const wake of this.#waiters) wake();
    });
  }

  async listen(): Promise<this> {
    this.#server.listen(this.path);
    await once(this.#server, 'listening');
    return this;
  }

  /** The n-th connection (0-based), within `timeoutMs`. */
  peer(n = 0, timeoutMs = 5000): Promise<HostPeer> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const peer = this.peers[n];
        if (peer === undefined) return false;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(peer);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no connection #${n} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.close()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
