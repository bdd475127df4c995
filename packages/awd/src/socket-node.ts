/**
 * One socket chardev (README "Nodes"), modelled on QEMU's: listening (server=on) or connecting
 * (server=off, reconnect=N s), TCP or UNIX. It owns at most one connection; writes while nobody is
 * connected are dropped, as the patch's were (awd spec §2.2).
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { backoffDelayMs, type Clock, type TimerHandle } from '@guesthb/protocol';
import type { ChardevSpec } from './config.js';
import { AwdError, AwdErrorCode } from './errors.js';

/** Bytes queued towards a peer that does not read before further writes are dropped. */
export const MAX_QUEUED_BYTES = 64 * 1024;

export interface SocketNodeDeps {
  readonly spec: ChardevSpec;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onData?: (chunk: Buffer) => void;
  readonly onConnected?: () => void;
  readonly onDisconnected?: () => void;
}

export class SocketNode {
  readonly #deps: SocketNodeDeps;
  #server: net.Server | undefined;
  #socket: net.Socket | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;
  #closed = false;
  #connects = 0;

  constructor(deps: SocketNodeDeps) {
    this.#deps = deps;
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** The current connection, if any (the notifier uses it for a listening notification node). */
  get socket(): net.Socket | undefined {
    return this.#socket;
  }

  /** Listening nodes bind now (AWD_ERR_LISTEN on failure); connecting nodes start dialling. */
  async start(): Promise<void> {
    if (this.#deps.spec.server) await this.#listen();
    else this.#dial();
  }

  /** Writes if connected; returns false when the bytes were dropped (no peer, or peer not reading). */
  write(data: Buffer): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.writableLength > MAX_QUEUED_BYTES) return false;
    socket.write(data);
    return true;
  }

  /** Idempotent: stops listening/redialling and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket?.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  toJSON(): object {
    const { id, address, server } = this.#deps.spec;
    return { id, address, role: server ? 'listen' : 'connect', connected: this.connected, connects: this.#connects };
  }

  async #listen(): Promise<void> {
    const { spec, log } = this.#deps;
    const server = net.createServer((socket) => this.#adopt(socket));
    server.on('error', (err) => log.error({ err }, 'listener error'));
    const address = spec.address;
    // QEMU unlinks a stale socket file and binds again (e2e spec §2 pitfall 3); so do we.
    if (address.kind === 'unix' && existsSync(address.path) && lstatSync(address.path).isSocket()) unlinkSync(address.path);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new AwdError(AwdErrorCode.LISTEN, `chardev '${spec.id}': cannot listen: ${err.message}`, { cause: err }));
      server.once('error', onError);
      const ready = (): void => {
        server.off('error', onError);
        resolve();
      };
      if (address.kind === 'unix') server.listen(address.path, ready);
      else server.listen(address.port, address.host, ready);
    });
    this.#server = server;
    log.info({ address: server.address() }, 'node listening');
  }

  /** The address actually bound (port 0 resolved), for tests and /status. */
  get boundAddress(): net.AddressInfo | string | null {
    return this.#server?.address() ?? null;
  }

  #dial(): void {
    if (this.#closed) return;
    const address = this.#deps.spec.address;
    const socket = address.kind === 'unix' ? net.connect(address.path) : net.connect(address.port, address.host);
    socket.once('connect', () => {
      this.#attempt = 0;
      this.#adopt(socket);
    });
    socket.once('error', (err) => {
      if (this.#socket !== socket) {
        socket.destroy();
        this.#scheduleDial(err.message);
      }
    });
  }

  #scheduleDial(reason: string): void {
    if (this.#closed) return;
    this.#attempt++;
    const { reconnectS } = this.#deps.spec;
    // reconnect=N is QEMU's fixed delay; without it QEMU would give up, we back off 1 s … 30 s (README).
    const delayMs = reconnectS > 0 ? reconnectS * 1000 : backoffDelayMs({ baseMs: 1000, maxMs: 30_000 }, this.#attempt);
    this.#deps.log.debug({ reason, delayMs, attempt: this.#attempt }, 'node connect failed; will retry');
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#dial();
    }, delayMs);
  }

  #adopt(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const { log } = this.#deps;
    if (this.#socket !== undefined) {
      // A newer peer wins: a restarted guest app must not be locked out by its half-open predecessor.
      log.warn('node: new connection replaces the current one');
      this.#socket.destroy();
    }
    this.#socket = socket;
    this.#connects++;
    socket.setNoDelay(true);
    log.info({ remote: socket.remoteAddress ?? 'unix' }, 'node connected');
    this.#deps.onConnected?.();
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket === socket) this.#deps.onData?.(chunk);
    });
    socket.on('error', (err) => log.debug({ err }, 'node socket error'));
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      log.info('node disconnected');
      this.#deps.onDisconnected?.();
      if (!this.#deps.spec.server) this.#scheduleDial('connection closed');
    });
  }
}
