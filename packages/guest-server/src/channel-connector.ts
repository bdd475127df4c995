/** The edge that opens a heartbeat channel: a UNIX stream client to the socket QEMU listens on (daemons §1.3). */
import { createConnection } from 'node:net';

/** What a session needs from a connected channel, and nothing more. */
export interface ChannelSocket {
  /** Queues bytes; false when they were dropped because the guest is not reading (bounded buffer). */
  write(data: Uint8Array): boolean;
  /** Closes at once (SO_LINGER 0 in the original); no further callbacks. */
  destroy(): void;
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

/** The real connector: node:net over a UNIX socket path. */
export const connectUnixChannel: ChannelConnector = (path, handlers) => {
  const socket = createConnection({ path });
  let errorCode: string | undefined;
  let closed = false;
  socket.setNoDelay?.(true);
  socket.on('connect', () => handlers.onConnect());
  socket.on('data', (chunk: Buffer) => {
    handlers.onData(chunk);
    // A full read means the guest writes faster than one read per turn (a flood): yield to the timers and
    // the other guests before reading more, or libuv reads up to 32 chunks in a row and late challenges follow.
    if (chunk.length >= YIELD_AFTER_BYTES && !socket.destroyed) {
      socket.pause();
      setImmediate(() => {
        if (!socket.destroyed) socket.resume();
      });
    }
  });
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
  };
};
