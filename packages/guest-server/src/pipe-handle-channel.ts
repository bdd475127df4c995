/**
 * The heartbeat channel connector on libuv's pipe handle directly (issue 17 item 1): the same contract as
 * `connectUnixChannel` (channel-connector.ts) without net.Socket's Readable/Writable machinery. A heartbeat
 * is one ~100-byte write and one read; through a stream each write allocates a WriteWrap, runs `afterWrite`
 * on process.nextTick and updates the Writable's state, and each read goes through the Readable's
 * bookkeeping. Here a write that the kernel takes at once (every write of a reading guest) is one
 * `writeBuffer` call with a reused request object, and a read is one call of `onread` on a shared buffer.
 *
 * The handle comes from `process.binding('pipe_wrap')` / `process.binding('stream_wrap')`: on Node's
 * `process.binding` allow list, no warning printed (README "Channel I/O"). If a future Node drops them,
 * `pipeHandleConnector()` returns undefined and the composition root uses the stream connector.
 */
import { getSystemErrorName } from 'node:util';
import { MAX_UNREAD_BYTES, type ChannelConnector, type ChannelHandlers, type ChannelSocket } from './channel-connector.js';

/** What we use of a libuv pipe handle (src/pipe_wrap.cc, src/stream_base.cc in Node 20). Errors are negative errnos. */
interface PipeHandle {
  onread: ((this: PipeHandle) => Uint8Array | undefined) | null;
  connect(req: ConnectRequest, path: string): number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
  close(callback?: () => void): void;
}
interface ConnectRequest {
  oncomplete: ((status: number) => void) | null;
}
interface WriteRequest {
  oncomplete: ((status: number) => void) | null;
  /** Held while the write is queued: libuv points at the bytes until it completes. */
  buffer: Uint8Array | null;
}
interface Bindings {
  readonly Pipe: new (type: number) => PipeHandle;
  readonly PipeConnectWrap: new () => ConnectRequest;
  readonly WriteWrap: new () => WriteRequest;
  /** stream_base's shared state: bytes of the current read (or its error), whether the last write queued. */
  readonly state: Int32Array;
  readonly kReadBytesOrError: number;
  readonly kLastWriteWasAsync: number;
  readonly socketType: number;
}

/** A read this large (a heartbeat message is ≤ 1056 bytes) makes the channel yield before the next. */
const YIELD_AFTER_BYTES = 16 * 1024;
/** libuv's UV_EOF: the peer closed its side (not an errno). */
const UV_EOF = -4095;

/** One read buffer for every channel: a read is handed to the session synchronously and never kept. */
const READ_BUFFER = Buffer.alloc(64 * 1024);
/**
 * Views of READ_BUFFER's first n bytes, made once per length up to MAX_CACHED_VIEW: a read of a heartbeat's
 * answer is ~170 bytes, and a new Buffer object per read was ~100 bytes of garbage per heartbeat (issue 17).
 * The view is what onData gets; like the bytes under it, it is the channel's until onData returns.
 */
const VIEWS: (Buffer | undefined)[] = [];
const MAX_CACHED_VIEW = 1024;

function readView(n: number): Buffer {
  if (n > MAX_CACHED_VIEW) return Buffer.from(READ_BUFFER.buffer, READ_BUFFER.byteOffset, n);
  let view = VIEWS[n];
  if (view === undefined) VIEWS[n] = view = Buffer.from(READ_BUFFER.buffer, READ_BUFFER.byteOffset, n);
  return view;
}

let bindings: Bindings | null | undefined;

/** The private bindings, checked once; null when this Node does not offer them in the expected shape. */
function loadBindings(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pipe = binding('pipe_wrap') as { Pipe?: unknown; PipeConnectWrap?: unknown; constants?: { SOCKET?: unknown } };
    const stream = binding('stream_wrap') as { WriteWrap?: unknown; streamBaseState?: unknown; kReadBytesOrError?: unknown; kLastWriteWasAsync?: unknown };
    const Pipe = pipe.Pipe as Bindings['Pipe'] | undefined;
    if (typeof Pipe !== 'function' || typeof pipe.PipeConnectWrap !== 'function' || typeof stream.WriteWrap !== 'function'
      || !(stream.streamBaseState instanceof Int32Array) || typeof stream.kReadBytesOrError !== 'number'
      || typeof stream.kLastWriteWasAsync !== 'number' || typeof pipe.constants?.SOCKET !== 'number') return null;
    const proto = Pipe.prototype as Partial<Record<keyof PipeHandle, unknown>>;
    for (const method of ['connect', 'readStart', 'readStop', 'useUserBuffer', 'writeBuffer', 'close'] as const) {
      if (typeof proto[method] !== 'function') return null;
    }
    bindings = {
      Pipe, PipeConnectWrap: pipe.PipeConnectWrap as Bindings['PipeConnectWrap'], WriteWrap: stream.WriteWrap as Bindings['WriteWrap'],
      state: stream.streamBaseState, kReadBytesOrError: stream.kReadBytesOrError, kLastWriteWasAsync: stream.kLastWriteWasAsync,
      socketType: pipe.constants.SOCKET,
    };
  } catch {
    bindings = null;      // process.binding gone or throwing (--no-deprecation policies, a future Node)
  }
  return bindings;
}

/** errno name of a libuv status (ECONNRESET …); EIO when Node has no name for it. */
function errorName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return 'EIO';
  }
}

/**
 * The pipe-handle connector, or undefined when this Node's private bindings are not usable (the caller
 * then falls back to `connectUnixChannel`).
 */
export function pipeHandleConnector(): ChannelConnector | undefined {
  const b = loadBindings();
  return b === null ? undefined : (path, handlers) => new PipeHandleChannel(b, path, handlers);
}

/**
 * One channel. Contract (the same as the stream connector's): onConnect once, then onData per read, then
 * onClose exactly once, always asynchronously (from libuv's close callback), never after destroy().
 */
class PipeHandleChannel implements ChannelSocket {
  readonly #b: Bindings;
  readonly #handle: PipeHandle;
  readonly #handlers: ChannelHandlers;
  #connected = false;
  /** Set once the handle is being closed (by us or by an error); nothing more is read or written. */
  #closed = false;
  /** destroy() was called: the session is not told. */
  #silent = false;
  /** Paused by the session's budget: the read-yield must not resume it early. */
  #throttled = false;
  #yielding = false;
  /** Bytes of writes libuv queued (the guest's socket buffer is full) and has not completed. */
  #pendingBytes = 0;
  /** Reused for every write the kernel takes at once; a write that queues keeps it and a new one is made. */
  #writeReq: WriteRequest;

  constructor(b: Bindings, path: string, handlers: ChannelHandlers) {
    this.#b = b;
    this.#handlers = handlers;
    this.#handle = new b.Pipe(b.socketType);
    this.#writeReq = this.#newWriteReq();
    const req = new b.PipeConnectWrap();
    req.oncomplete = (status) => this.#afterConnect(status);
    let err: number;
    try {
      err = this.#handle.connect(req, path);
    } catch {
      err = -22;          // EINVAL: a path libuv refuses outright (too long, NUL)
    }
    if (err !== 0) this.#fail(err);
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || !this.#connected || this.#pendingBytes > MAX_UNREAD_BYTES) return false;
    const req = this.#writeReq;
    // uv_try_write first (stream_base.cc): a write the kernel takes whole completes here and leaves `req`
    // untouched, so it can serve the next write. What does not fit is queued by libuv and completes later.
    const err = this.#handle.writeBuffer(req, data);
    if (err !== 0) {
      this.#fail(err);    // EPIPE / ECONNRESET: the guest is gone; onClose follows asynchronously
      return true;
    }
    if (this.#b.state[this.#b.kLastWriteWasAsync] !== 0) {
      req.buffer = data;
      this.#pendingBytes += data.byteLength;
      const bytes = data.byteLength;
      req.oncomplete = (status) => {
        req.buffer = null;
        this.#pendingBytes -= bytes;
        // ECANCELED after our own close: nothing to report.
        if (status !== 0 && !this.#closed) this.#fail(status);
      };
      this.#writeReq = this.#newWriteReq();
    }
    return true;
  }

  destroy(): void {
    this.#silent = true;
    this.#close(undefined);
  }

  pause(): void {
    this.#throttled = true;
    if (!this.#closed && this.#connected) this.#handle.readStop();
  }

  resume(): void {
    this.#throttled = false;
    if (!this.#closed && this.#connected && !this.#yielding) this.#readStart();
  }

  #newWriteReq(): WriteRequest {
    const req = new this.#b.WriteWrap();
    req.oncomplete = null;
    req.buffer = null;
    return req;
  }

  #afterConnect(status: number): void {
    if (this.#closed) return;                     // destroyed while connecting (ECANCELED)
    if (status !== 0) {
      this.#fail(status);                           // ENOENT, ECONNREFUSED, EACCES …
      return;
    }
    this.#connected = true;
    const handle = this.#handle;
    handle.useUserBuffer(READ_BUFFER);
    handle.onread = () => {
      this.#onRead(this.#b.state[this.#b.kReadBytesOrError] ?? 0);
      return undefined;                             // keep reading into READ_BUFFER
    };
    if (!this.#throttled) this.#readStart();
    if (!this.#closed) this.#handlers.onConnect();
  }

  #onRead(nread: number): void {
    if (this.#closed) return;
    if (nread > 0) {
      this.#handlers.onData(readView(nread));
      // A full read means the guest writes faster than one read per turn (a flood): yield to the timers and
      // the other guests before reading more, or libuv reads up to 32 chunks in a row.
      if (nread >= YIELD_AFTER_BYTES && !this.#closed && !this.#throttled && !this.#yielding) {
        this.#yielding = true;
        this.#handle.readStop();
        setImmediate(() => {
          this.#yielding = false;
          if (!this.#closed && !this.#throttled) this.#readStart();
        });
      }
      return;
    }
    if (nread === 0) return;                        // EAGAIN: nothing this time
    // A peer EOF is a disconnect (daemons §9 item 5); anything else is the error that ended it.
    this.#close(nread === UV_EOF ? undefined : errorName(nread));
  }

  #readStart(): void {
    const err = this.#handle.readStart();
    if (err !== 0) this.#fail(err);
  }

  #fail(status: number): void {
    this.#close(errorName(status));
  }

  /** Closes the handle once; the session hears of it from libuv's close callback (never synchronously). */
  #close(errorCode: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle.close(() => {
      if (!this.#silent) this.#handlers.onClose(errorCode);
    });
  }
}
