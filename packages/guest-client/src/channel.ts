/**
 * The client's end of the heartbeat channel (client §2): the virtio-serial character device, or, for any
 * other file type, a UNIX stream socket the client connects to. Edge code: the only file doing channel I/O.
 */
import { createConnection, type Socket } from 'node:net';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { backoffDelayMs, type Clock, type TimerHandle } from '@guesthb/protocol';
import { GuestClientError } from './errors.js';

export interface ChannelHandlers {
  onData(chunk: Buffer): void;
  /** The host end came back (socket reconnected). */
  onUp(): void;
  /** The host end went away (socket closed). */
  onDown(): void;
}

export interface Channel {
  readonly kind: 'device' | 'socket';
  write(bytes: Buffer): void;
  close(): Promise<void>;
}

/** Pause after an empty or failed device read: the reference client's poll loop runs every 25–300 ms (client §6). */
const DEVICE_IDLE_MS = 250;
const RECONNECT = { baseMs: 1000, maxMs: 30_000 } as const;

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
  if (info.isCharacterDevice()) return openDevice(path, handlers, clock, log);
  return connectSocket(path, handlers, clock, log);
}

async function openDevice(path: string, handlers: ChannelHandlers, clock: Clock, log: Logger): Promise<Channel> {
  let file: FileHandle;
  try {
    file = await open(path, 'r+');
  } catch (err) {
    throw new GuestClientError('GC_ERR_CHANNEL_FAILED', `cannot open ${path}`, { cause: err });
  }
  let closed = false;
  let idle: TimerHandle | undefined;
  let pending: Promise<unknown> = Promise.resolve();                    // writes in order; close waits for them
  const buffer = Buffer.alloc(4096);
  const readLoop = (): void => {
    if (closed) return;
    file.read(buffer, 0, buffer.length, null).then(({ bytesRead }) => {
      if (bytesRead > 0) {
        handlers.onData(Buffer.from(buffer.subarray(0, bytesRead)));
        readLoop();
        return;
      }
      // EOF: the host end is not connected; it delivers nothing and changes no state (client §2).
      idle = clock.setTimeout(readLoop, DEVICE_IDLE_MS);
    }, (err: unknown) => {
      if (closed) return;
      if ((err as NodeJS.ErrnoException).code !== 'ENODEV') log.warn({ err }, 'channel read failed');
      idle = clock.setTimeout(readLoop, DEVICE_IDLE_MS);
    });
  };
  readLoop();
  return {
    kind: 'device',
    write: (bytes) => {
      // ENODEV (host end not connected) counts as success (client §2).
      pending = pending.then(() => file.write(bytes)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENODEV') log.warn({ err }, 'channel write failed');
      });
    },
    close: async () => {
      closed = true;
      if (idle !== undefined) clock.clearTimeout(idle);
      await pending;
      await file.close().catch(() => undefined);
    },
  };
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
        s.once('close', () => resolve());
        s.end();
        s.destroySoon();
      });
    },
  });
}
