/** The edge that opens a heartbeat channel: a UNIX stream client to the socket QEMU listens on (daemons §1.3). */
import { createConnection } from 'node:net';

/** What a session needs from a connected channel, and nothing more. */
export interface ChannelSocket {
  /** Queues bytes; false when they were dropped because the guest is not reading (bounded buffer). */
  write(data: Uint8Array): boolean;
  /** Closes at once (SO_LINGER 0 in the original); no further callbacks. */
  destroy(): void;
  /** Stops reading (a guest over its budget: the kernel holds what it sends); resume() reads again. */
  pause?(): void;
  resume?(): void;
}

export interface ChannelHandlers {
  onConnect(): void;
  onData(chunk: Buffer): void;
  /**
   * The socket closed, or never opened. `errorCode` is the errno name (ENOENT = the channel is gone,
   * ECONNREFUSED, ECONNRESET, EPIPE …) or undefined for a clean EOF.
   */
  onClose(errorCode: string | undefined): void;
}

export type ChannelConnector = (path: string, handlers: ChannelHandlers) => ChannelSocket;

/**
 * Bytes a guest may leave unread before further writes to it are dropped. A guest that never reads (a
 * paused VM, or one flooding garbage to draw a nack per line) must not grow our memory: without this bound
 * a 5 s garbage flood queued ~120 MB of nacks (test/faults). 64 kB is ~600 messages; the heartbeat of such
 * a guest is lost anyway.
 */
export const MAX_UNREAD_BYTES = 64 * 1024;

/** A read this large (a heartbeat message is ≤ 1056 bytes) makes the connection yield before the next. */
const YIELD_AFTER_BYTES = 16 * 1024;

/**
 * One read buffer for every channel: reads are handed to the session synchronously and never kept (the
 * framer copies what it carries), so 10 000 channels share 64 kB instead of allocating per read.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * The real connector: node:net over a UNIX socket path. Reads go through `onread`, so pause() really stops
 * reading (readStop): a guest over its budget then costs nothing until resumed, and what it sent meanwhile
 * arrives as one read. (Without onread, a paused socket keeps reading into the stream's buffer.)
 */
export const connectUnixChannel: ChannelConnector = (path, handlers) => {
  let errorCode: string | undefined;
  let closed = false;
  /** Paused by the session's budget: the read-yield below must not resume it early. */
  let throttled = false;
  const onRead = (bytes: number, buffer: Uint8Array): boolean => {
    if (closed) return false;
    handlers.onData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
    // A full read means the guest writes faster than one read per turn (a flood): yield to the timers and
    // the other guests before reading more, or libuv reads up to 32 chunks in a row and late challenges follow.
    if (bytes >= YIELD_AFTER_BYTES && !socket.destroyed && !throttled) {
      socket.pause();
      setImmediate(() => {
        if (!socket.destroyed && !throttled) socket.resume();
      });
    }
    return true;
  };
  const socket = createConnection({ path, onread: { buffer: READ_BUFFER, callback: onRead } });
  socket.setNoDelay?.(true);
  socket.on('connect', () => handlers.onConnect());
  socket.on('error', (err: NodeJS.ErrnoException) => {
    errorCode ??= err.code ?? 'EIO';
  });
  // A peer EOF is a disconnect (daemons §9 item 5): end our side too, then 'close' follows.
  socket.on('end', () => socket.end());
  socket.on('close', () => {
    if (closed) return;
    closed = true;
    handlers.onClose(errorCode);
  });
  return {
    write: (data) => {
      if (socket.destroyed || !socket.writable || socket.writableLength > MAX_UNREAD_BYTES) return false;
      socket.write(data);
      return true;
    },
    destroy: () => {
      closed = true;
      socket.destroy();
    },
    pause: () => {
      throttled = true;
      socket.pause();
    },
    resume: () => {
      throttled = false;
      if (!socket.destroyed) socket.resume();
    },
  };
};
