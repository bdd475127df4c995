/**
 * The heartbeat channel on a character device: the virtio-serial port in a VM, or a pty in tests (client §2).
 * Edge code. Reads are driven by readiness (epoll through a libuv stream), never by a blocking read on a
 * threadpool thread, so close() and process exit never wait on a silent host (issue 14 item 1).
 *
 * Host end presence, like the reference client's POLLHUP/SIGIO handling:
 * - gone: a virtio-serial port reads EOF (and polls POLLHUP) while no host is connected; a pty slave
 *   reads EOF or EIO once its master is closed. Either way the stream ends: `onDown`, the fd is closed;
 * - back: the path is reopened every `retryMs`. A port whose host is still away ends again at once; one
 *   that stays open for `settleMs`, or delivers bytes, is up: `onUp`. (The reference client waited for
 *   SIGIO, which a pty never raises, so it stayed disabled until restarted.)
 */
import { close as closeFd, open as openFd, constants as fsConstants } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { isatty } from 'node:tty';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '@guesthb/protocol';
import type { Channel, ChannelHandlers } from './channel.js';
import { GuestClientError } from './errors.js';

export interface DeviceTiming {
  /** Pause between attempts to reopen the device while the host end is away. */
  readonly retryMs: number;
  /** A reopened device that neither ends nor errs this long has its host end back. */
  readonly settleMs: number;
  /** At most this long is spent flushing queued bytes (the `exit` message) on close. */
  readonly closeFlushMs: number;
}

export const DEFAULT_DEVICE_TIMING: DeviceTiming = { retryMs: 1000, settleMs: 100, closeFlushMs: 500 };

/** Bytes queued toward a host that does not read before further writes are dropped (bounded memory). */
const MAX_QUEUED_BYTES = 64 * 1024;

/** O_NONBLOCK: never block the thread that opens; O_NOCTTY: a pty must not become our controlling terminal. */
const OPEN_FLAGS = fsConstants.O_RDWR | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

/** Linux dev_t → major:minor (glibc's gnu_dev_major/minor), for the sysfs lookup. */
export function deviceNumbers(rdev: number): { readonly major: number; readonly minor: number } {
  const lo = rdev >>> 0;
  const hi = Math.floor(rdev / 0x1_0000_0000) >>> 0;
  return {
    major: (((lo >>> 8) & 0xfff) | (hi & 0xfffff000)) >>> 0,
    minor: ((lo & 0xff) | (((lo >>> 12) | (hi << 20)) & 0xffffff00)) >>> 0,
  };
}

/**
 * Whether epoll can watch the device: a tty (pty, hvc, serial) or a virtio-serial port. Anything else
 * (e.g. /dev/null) has no poll method, and libuv aborts the process on such an fd, so it is refused.
 */
async function isPollable(fd: number, rdev: number): Promise<boolean> {
  if (isatty(fd)) return true;
  const { major, minor } = deviceNumbers(rdev);
  try {
    return (await readlink(`/sys/dev/char/${major}:${minor}`)).includes('/virtio-ports/');
  } catch {
    return false;
  }
}

interface PipeHandle { open(fd: number): void }
interface PipeBinding { Pipe: new (type: number) => PipeHandle; constants: { SOCKET: number } }

/**
 * Wraps a pollable fd in a net.Socket over libuv's pipe stream (uv_pipe_open accepts any pollable fd;
 * Node's public `new Socket({ fd })` only takes pipes and TCP sockets). process.binding('pipe_wrap') is
 * on Node's allow list for that purpose (README "Dependencies on Node internals").
 */
function streamOf(fd: number): Socket {
  const binding = (process as unknown as { binding(name: string): PipeBinding }).binding('pipe_wrap');
  const handle = new binding.Pipe(binding.constants.SOCKET);
  handle.open(fd);
  return new Socket({ handle, readable: true, writable: true, allowHalfOpen: true } as SocketConstructorOpts);
}

function openPath(path: string): Promise<number> {
  return new Promise((resolve, reject) => openFd(path, OPEN_FLAGS, (err, fd) => (err === null ? resolve(fd) : reject(err))));
}

/** Opens the device (it exists and is a character device); throws GC_ERR_CHANNEL_FAILED if it cannot be used. */
export async function openDevice(
  path: string, rdev: number, handlers: ChannelHandlers, clock: Clock, log: Logger, timing: DeviceTiming = DEFAULT_DEVICE_TIMING,
): Promise<Channel> {
  let fd: number;
  try {
    fd = await openPath(path);
  } catch (err) {
    throw new GuestClientError('GC_ERR_CHANNEL_FAILED', `cannot open ${path}`, { cause: err });
  }
  if (!(await isPollable(fd, rdev))) {
    closeFd(fd, () => undefined);
    throw new GuestClientError('GC_ERR_CHANNEL_FAILED', `${path} is neither a virtio-serial port nor a tty (it cannot be polled)`);
  }
  const channel = new DeviceChannel(path, handlers, clock, log, timing);
  const err = channel.attach(fd, false);
  if (err !== undefined) throw new GuestClientError('GC_ERR_CHANNEL_FAILED', `cannot watch ${path}`, { cause: err });
  return channel;
}

class DeviceChannel implements Channel {
  readonly kind = 'device';
  readonly #path: string;
  readonly #handlers: ChannelHandlers;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timing: DeviceTiming;
  #stream: Socket | undefined;
  /** Whether the host end counts as present (the session was last told up, or nothing yet). */
  #up = true;
  #timer: TimerHandle | undefined;
  #closed = false;
  #dropWarned = false;
  #watchWarned = false;

  constructor(path: string, handlers: ChannelHandlers, clock: Clock, log: Logger, timing: DeviceTiming) {
    this.#path = path;
    this.#handlers = handlers;
    this.#clock = clock;
    this.#log = log;
    this.#timing = timing;
  }

  /**
   * Starts reading `fd`. `settling`: up only after settleMs without an end (a reopen while away). Returns
   * the error when the fd cannot be watched (it is closed then).
   */
  attach(fd: number, settling: boolean): unknown {
    let stream: Socket;
    try {
      stream = streamOf(fd);
    } catch (err) {
      closeFd(fd, () => undefined);
      return err;
    }
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (this.#stream !== stream) return;
      if (!this.#up) this.#markUp();                                     // bytes from the host: it is there
      this.#handlers.onData(chunk);
    });
    stream.on('end', () => this.#hangup(stream, 'end of file'));
    stream.on('error', (err: NodeJS.ErrnoException) => this.#hangup(stream, err.code ?? err.message));
    if (settling) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        if (this.#stream === stream && !this.#up) this.#markUp();
      }, this.#timing.settleMs);
    }
    return undefined;
  }

  write(bytes: Buffer): void {
    const stream = this.#stream;
    // While the host end is away the bytes have nowhere to go; the original counted ENODEV as sent (client §2).
    if (stream === undefined || !this.#up || stream.destroyed) return;
    if (stream.writableLength + bytes.length > MAX_QUEUED_BYTES) {
      if (!this.#dropWarned) this.#log.warn({ path: this.#path, queuedBytes: stream.writableLength }, 'host end does not read; dropping channel writes');
      this.#dropWarned = true;
      return;
    }
    this.#dropWarned = false;
    stream.write(bytes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return;
    if (stream.writableLength > 0) {
      // Give the last bytes (`exit`) a bounded chance to leave; a host that does not read cannot hold us.
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, this.#timing.closeFlushMs);
        const done = (): void => { this.#clock.clearTimeout(timer); resolve(); };
        stream.once('drain', done);
        stream.once('close', done);
      });
    }
    await new Promise<void>((resolve) => {
      stream.once('close', () => resolve());
      stream.destroy();
    });
  }

  #markUp(): void {
    this.#clearTimer();
    this.#up = true;
    this.#log.info({ path: this.#path }, 'channel host end connected');
    this.#handlers.onUp();
  }

  /** The stream ended or failed (or could not be made): close it, tell the session once, retry later. */
  #hangup(stream: Socket | undefined, cause: string): void {
    if (this.#closed || (stream !== undefined && this.#stream !== stream)) return;
    this.#stream = undefined;
    stream?.destroy();
    this.#clearTimer();
    if (this.#up) {
      this.#up = false;
      this.#log.info({ path: this.#path, cause }, 'channel host end went away');
      this.#handlers.onDown();
    }
    this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      openPath(this.#path).then((fd) => {
        if (this.#closed) {
          closeFd(fd, () => undefined);
          return;
        }
        const err = this.attach(fd, true);
        if (err === undefined) return;
        if (!this.#watchWarned) this.#log.warn({ err, path: this.#path }, 'channel device cannot be watched; retrying');
        this.#watchWarned = true;
        this.#scheduleReopen();
      }, (err: NodeJS.ErrnoException) => {
        // A pty whose master closed has no slave node any more; a missing port may come back. Quietly retry.
        this.#log.debug({ path: this.#path, code: err.code }, 'channel device not available yet');
        if (!this.#closed) this.#scheduleReopen();
      });
    }, this.#timing.retryMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
