/**
 * The client's end of the heartbeat channel (client §2): the virtio-serial character device, or, for any
 * other file type, a UNIX stream socket the client connects to. Edge code: socket I/O here, device I/O in
 * device-channel.ts.
 */
import { createConnection, type Socket } from 'node:net';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { backoffDelayMs, type Clock, type TimerHandle } from '@guesthb/protocol';
import { openDevice } from './device-channel.js';
import { GuestClientError } from './errors.js';

export interface ChannelHandlers {
  onData(chunk: Buffer): void;
  /** The host end came back (socket reconnected, device reopened with its host end present). */
  onUp(): void;
  /** The host end went away (socket closed, device read EOF/EIO/ENODEV). */
  onDown(): void;
}

export interface Channel {
  readonly kind: 'device' | 'socket';
  write(bytes: Buffer): void;
  close(): Promise<void>;
}

const RECONNECT = { baseMs: 1000, maxMs: 30_000 } as const;
const SOCKET_CLOSE_FLUSH_MS = 500;

/** Opens `path`; throws GC_ERR_DEVICE_MISSING when it does not exist (exit 6 in the CLI, client §2). */
export async function openChannel(path: string, handlers: ChannelHandlers, clock: Clock, log: Logger): Promise<Channel> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GuestClientError('GC_ERR_DEVICE_MISSING', `guest heartbeat not configured: ${path} does not exist`, { cause: err });
    }
    throw new GuestClientError('GC_ERR_CHANNEL_FAILED', `cannot stat ${path}`, { cause: err });
  }
  if (info.isCharacterDevice()) return openDevice(path, info.rdev, handlers, clock, log);
  return connectSocket(path, handlers, clock, log);
}

function connectSocket(path: string, handlers: ChannelHandlers, clock: Clock, log: Logger): Promise<Channel> {
  let socket: Socket | undefined;
  let closed = false;
  let attempt = 0;
  let everConnected = false;
  let retry: TimerHandle | undefined;
  const connect = (): void => {
    if (closed) return;
    const s = createConnection(path);
    s.on('connect', () => {
      socket = s;
      attempt = 0;
      log.info({ path }, 'channel connected');
      if (everConnected) handlers.onUp();
      everConnected = true;
    });
    s.on('data', (chunk: Buffer) => handlers.onData(chunk));
    s.on('error', (err) => log.debug({ err, path }, 'channel socket error'));
    s.on('close', () => {
      const wasUp = socket === s;
      if (wasUp) {
        socket = undefined;
        handlers.onDown();
      }
      if (closed) return;
      // The original stays disabled after a socket hangup until restarted (client §2); we reconnect.
      attempt++;
      retry = clock.setTimeout(connect, backoffDelayMs(RECONNECT, attempt));
    });
  };
  connect();
  return Promise.resolve({
    kind: 'socket',
    write: (bytes) => {
      if (socket !== undefined && !socket.destroyed) socket.write(bytes);
    },
    close: async () => {
      closed = true;
      if (retry !== undefined) clock.clearTimeout(retry);
      const s = socket;
      if (s === undefined || s.destroyed) return;
      await new Promise<void>((resolve) => {
        // A host that does not read cannot hold the stop: the last bytes (`exit`) get a bounded chance.
        const flush = clock.setTimeout(() => s.destroy(), SOCKET_CLOSE_FLUSH_MS);
        s.once('close', () => {
          clock.clearTimeout(flush);
          resolve();
        });
        s.end();
        s.destroySoon();
      });
    },
  });
}
