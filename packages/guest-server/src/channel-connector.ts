/** The edge that opens a heartbeat channel: a UNIX stream client to the socket QEMU listens on (daemons §1.3). */
import { createConnection } from 'node:net';

/** What a session needs from a connected channel, and nothing more. */
export interface ChannelSocket {
  write(data: Uint8Array): void;
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

/** The real connector: node:net over a UNIX socket path. */
export const connectUnixChannel: ChannelConnector = (path, handlers) => {
  const socket = createConnection({ path });
  let errorCode: string | undefined;
  let closed = false;
  socket.setNoDelay?.(true);
  socket.on('connect', () => handlers.onConnect());
  socket.on('data', (chunk: Buffer) => handlers.onData(chunk));
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
      if (!socket.destroyed && socket.writable) socket.write(data);
    },
    destroy: () => {
      closed = true;
      socket.destroy();
    },
  };
};
