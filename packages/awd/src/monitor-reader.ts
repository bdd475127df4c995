/**
 * Reads a monitor connection in steps: "wait until the buffer holds X, within T ms". Bounded: a
 * monitor that sends more than MAX_BUFFERED_CHARS without a match fails the wait.
 */
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '@guesthb/protocol';

const MAX_BUFFERED_CHARS = 1024 * 1024;

/** `take` returns the matched value and how many chars it consumed, or undefined to keep waiting. */
export type Matcher<T> = (buffer: string) => { readonly value: T; readonly consumed: number } | undefined;

export class MonitorClosedError extends Error {
  override readonly name = 'MonitorClosedError';
}

export class MonitorReader {
  readonly #socket: Socket;
  readonly #clock: Clock;
  #buffer = '';
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer | string): void => {
    this.#buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    this.#wake?.();
  };
  readonly #onClose = (): void => {
    this.#closed = true;
    this.#wake?.();
  };
  // ECONNRESET after `quit` is a normal end (e2e spec §2 pitfall 1): every error counts as closed.
  readonly #onError = (): void => undefined;

  constructor(socket: Socket, clock: Clock) {
    this.#socket = socket;
    this.#clock = clock;
    this.#closed = socket.destroyed;
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Removes this reader's listeners (the socket may belong to a node that outlives the reader). */
  dispose(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('error', this.#onError);
    this.#socket.off('close', this.#onClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What arrived and was not consumed yet. */
  get pending(): string {
    return this.#buffer;
  }

  /** Waits for `match`; rejects with MonitorClosedError on EOF, Error('timeout …') after timeoutMs. */
  next<T>(match: Matcher<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        this.#wake = undefined;
        this.#clock.clearTimeout(timer);
        fn();
      };
      const check = (): void => {
        const hit = match(this.#buffer);
        if (hit !== undefined) {
          this.#buffer = this.#buffer.slice(hit.consumed);
          finish(() => resolve(hit.value));
        } else if (this.#closed) {
          finish(() => reject(new MonitorClosedError(`monitor closed while waiting for ${what}`)));
        } else if (this.#buffer.length > MAX_BUFFERED_CHARS) {
          finish(() => reject(new Error(`monitor sent over ${MAX_BUFFERED_CHARS} chars without ${what}`)));
        }
      };
      const timer: TimerHandle = this.#clock.setTimeout(() => finish(() => reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      this.#wake = check;
      check();
    });
  }
}
