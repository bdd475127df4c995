/**
 * Issue 17 item 1: the pipe-handle channel connector, and the stream connector it replaces, hold one
 * contract over real UNIX sockets: connect failures by kind, peer EOF and reset, a peer that never reads
 * (the unread-bytes budget trips), reads that carry many lines or part of one, destroy during a queued
 * write, onClose once and never after destroy(), and no handle left behind.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MAX_UNREAD_BYTES, connectUnixChannel, type ChannelConnector, type ChannelSocket } from '../src/channel-connector.js';
import { selectChannelConnector } from '../src/channel-io.js';
import { buildConfig } from '../src/config.js';
import { pipeHandleConnector } from '../src/pipe-handle-channel.js';
import { tempDir, until } from './helpers/harness.js';

const pipeHandle = pipeHandleConnector();
const DIST = resolve(fileURLToPath(import.meta.url), '../../dist');

interface Opened {
  readonly socket: ChannelSocket;
  readonly events: string[];
  readonly chunks: Buffer[];
  /** Resolves with onClose's errorCode ('EOF' for undefined). */
  readonly closed: Promise<string>;
  readonly connected: Promise<void>;
}

function open(connect: ChannelConnector, path: string): Opened {
  const events: string[] = [];
  const chunks: Buffer[] = [];
  let onClosed!: (code: string) => void;
  let onConnected!: () => void;
  const closed = new Promise<string>((r) => (onClosed = r));
  const connected = new Promise<void>((r) => (onConnected = r));
  const socket = connect(path, {
    onConnect: () => {
      events.push('connect');
      onConnected();
    },
    onData: (chunk) => {
      events.push('data');
      chunks.push(Buffer.from(chunk));     // the connector's buffer is reused after the call
    },
    onClose: (code) => {
      events.push(`close:${code ?? 'EOF'}`);
      onClosed(code ?? 'EOF');
    },
  });
  events.push('returned');              // a callback before this would have run synchronously inside connect()
  return { socket, events, chunks, closed, connected };
}

/** A channel connected to a fresh listener that does not read (the common start of the tests below). */
async function openConnected(connect: ChannelConnector): Promise<{ o: Opened; accepted: Promise<Socket> }> {
  const path = join(await tempDir(), 'c.sock');
  const { accepted } = await listen(path);
  const o = open(connect, path);
  await o.connected;
  return { o, accepted };
}

/** A listener whose connections are handed to `onConn` unread (pauseOnConnect): the test decides when to read. */
async function listen(path: string, onConn: (s: Socket) => void = () => undefined): Promise<{ server: Server; accepted: Promise<Socket> }> {
  let onAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (onAccepted = r));
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onAccepted(s);
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  onTestFinished(() => new Promise<void>((r) => {
    server.close(() => r());
    for (const s of sockets) s.destroy();          // a paused socket never reads the EOF that would end it
  }));
  return { server, accepted };
}

function pipeHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'PipeWrap').length;
}

/** Runs a connect in a child (as nobody when root, so the directory's mode applies) and prints onClose's code. */
function connectAsNobody(path: string): Promise<string> {
  const script = `
    const { pipeHandleConnector } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'pipe-handle-channel.js')).href)});
    if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
    pipeHandleConnector()(${JSON.stringify(path)}, { onConnect() { console.log('connected'); process.exit(0); }, onData() {}, onClose(code) { console.log(code); } });
  `;
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err === null ? resolvePromise(stdout.trim()) : reject(err)));
  });
}

it('this Node offers the pipe handle bindings (otherwise the server falls back to streams)', () => {
  expect(pipeHandle).toBeTypeOf('function');
});

describe.each([
  ['pipe-handle', pipeHandle as ChannelConnector],
  ['stream', connectUnixChannel],
])('%s connector over real UNIX sockets (issue 17)', (name, connect) => {
  it('connect failures: ENOENT (no file), ECONNREFUSED (stale socket, not a socket), a path too long; onClose once, asynchronously', async () => {
    const dir = await tempDir();
    const missing = open(connect, join(dir, 'none.sock'));
    expect(await missing.closed).toBe('ENOENT');

    // A socket file whose listener died without unlinking it (QEMU killed): nobody accepts.
    const stale = join(dir, 'stale.sock');
    await new Promise<void>((r, reject) => execFile(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`], (err) => (err === null ? r() : reject(err))));
    const refused = open(connect, stale);
    expect(await refused.closed).toBe('ECONNREFUSED');

    const file = join(dir, 'file');
    await writeFile(file, 'x');
    const notSocket = open(connect, file);
    expect(await notSocket.closed).toBe('ECONNREFUSED');

    const long = open(connect, join(dir, 'x'.repeat(200)));
    expect(await long.closed).toMatch(/^E[A-Z]+$/);

    for (const o of [missing, refused, notSocket, long]) expect(o.events).toEqual(['returned', `close:${await o.closed}`]);
  });

  it('a peer EOF closes with no error code; a write after it is refused', async () => {
    const { o, accepted } = await openConnected(connect);
    (await accepted).end();
    expect(await o.closed).toBe('EOF');
    expect(o.socket.write(Buffer.from('late\n'))).toBe(false);
    expect(o.events).toEqual(['returned', 'connect', 'close:EOF']);
  });

  it('a peer reset (it closed with our bytes unread) closes with ECONNRESET', async () => {
    const { o, accepted } = await openConnected(connect);
    expect(o.socket.write(Buffer.from('never read\n'))).toBe(true);
    const peer = await accepted;
    await new Promise((r) => setTimeout(r, 20));     // the bytes reach the peer's receive queue
    peer.destroy();
    expect(await o.closed).toBe('ECONNRESET');
  });

  it('a peer that never reads: writes back up to the budget, further writes are dropped, memory stays bounded', async () => {
    const { o, accepted } = await openConnected(connect);
    const frame = Buffer.alloc(100, 0x61);
    let taken = 0;
    let dropped = 0;
    for (let i = 0; i < 20_000; i++) {
      if (o.socket.write(frame)) taken++;
      else dropped++;
    }
    expect(dropped).toBeGreaterThan(0);
    // The kernel's socket buffer holds some (a few hundred kB at most); what is queued beyond it is bounded.
    expect(taken * frame.length).toBeLessThan(1024 * 1024 + MAX_UNREAD_BYTES + frame.length);
    const peer = await accepted;
    peer.destroy();
    expect(await o.closed).toMatch(/^(ECONNRESET|EPIPE)$/);
  });

  it('many lines in one read, and a line split across reads, arrive in order', async () => {
    const { o, accepted } = await openConnected(connect);
    const peer = await accepted;
    const many = Array.from({ length: 50 }, (_, i) => `{"line":${i}}\n`).join('');
    peer.write(many);
    await until(() => Buffer.concat(o.chunks).length === many.length, 5000, 'the 50 lines');
    expect(Buffer.concat(o.chunks).toString()).toBe(many);
    expect(o.chunks.length).toBeLessThan(50);
    o.chunks.length = 0;
    peer.write('{"split":');
    await until(() => o.chunks.length === 1, 5000, 'the first half');
    peer.write('true}\n');
    await until(() => o.chunks.length === 2, 5000, 'the second half');
    expect(o.chunks.map(String)).toEqual(['{"split":', 'true}\n']);
    o.socket.destroy();
  });

  it('echoes a heartbeat both ways, and pause() holds reads until resume()', async () => {
    const path = join(await tempDir(), 'c.sock');
    const { accepted } = await listen(path, (s) => {
      s.resume();
      s.on('data', (d) => s.write(d));
    });
    const o = open(connect, path);
    await o.connected;
    await accepted;
    o.socket.write(Buffer.from('ping\n'));
    await until(() => o.chunks.length === 1, 5000, 'the echo');
    o.socket.pause?.();
    o.socket.write(Buffer.from('held\n'));
    await new Promise((r) => setTimeout(r, 50));
    expect(o.chunks.map(String)).toEqual(['ping\n']);
    o.socket.resume?.();
    await until(() => o.chunks.length === 2, 5000, 'the held echo');
    expect(o.chunks.map(String)).toEqual(['ping\n', 'held\n']);
    o.socket.destroy();
  });

  it('destroy() during a queued write and while connecting: no callback after it, no crash, no handle left', async () => {
    const path = join(await tempDir(), 'c.sock');
    let later = false;
    // Later connections read, so the server's side sees our close and goes too (the handle count is the whole process's).
    const { accepted } = await listen(path, (s) => (later ? s.resume() : undefined));
    const before = pipeHandles();
    const o = open(connect, path);
    await o.connected;
    const frame = Buffer.alloc(4096, 0x62);
    while (o.socket.write(frame));                   // until the budget trips: writes are queued in libuv
    o.socket.destroy();
    o.socket.destroy();                              // idempotent
    expect(o.socket.write(frame)).toBe(false);
    (await accepted).destroy();
    later = true;
    const connecting = open(connect, path);
    connecting.socket.destroy();
    await until(() => pipeHandles() <= before, 5000, 'handles closed');
    await new Promise((r) => setTimeout(r, 50));
    expect(o.events).toEqual(['returned', 'connect']);
    expect(connecting.events).toEqual(['returned']);
  });

  it('a peer that closes during a queued write: onClose once', async () => {
    const { o, accepted } = await openConnected(connect);
    const frame = Buffer.alloc(4096, 0x63);
    while (o.socket.write(frame));
    (await accepted).destroy();
    await o.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(o.events.filter((e) => e.startsWith('close:'))).toHaveLength(1);
  });

  it(`no leak: 200 channels opened and closed (${name}) leave no handle and no process listener`, async () => {
    const path = join(await tempDir(), 'c.sock');
    await listen(path, (s) => {
      s.resume();
      s.end();
    });
    const handles = pipeHandles();
    const listeners = process.eventNames().map((e) => process.listenerCount(e)).reduce((a, b) => a + b, 0);
    const opened = Array.from({ length: 200 }, () => open(connect, path));
    expect(await Promise.all(opened.map((o) => o.closed))).toEqual(opened.map(() => 'EOF'));
    await until(() => pipeHandles() <= handles, 5000, 'handles closed');
    expect(process.eventNames().map((e) => process.listenerCount(e)).reduce((a, b) => a + b, 0)).toBe(listeners);
  });
});

describe('channel I/O selection ([client] channel_io, issue 17)', () => {
  it('EACCES: a channel in a directory the server may not search', async () => {
    const dir = await tempDir();                     // mode 0700, owned by us
    const path = join(dir, 'c.sock');
    await listen(path);
    expect(await connectAsNobody(path)).toBe('EACCES');
  });

  it('defaults to pipe-handle; stream on request; a bad value names the key', () => {
    const config = (text: string): ReturnType<typeof buildConfig> => buildConfig({ iniText: text, cli: {}, osHostname: 'h' });
    expect(config('').channelIo).toBe('pipe-handle');
    expect(config('[client]\nchannel_io = stream\n').channelIo).toBe('stream');
    expect(() => config('[client]\nchannel_io = uring\n')).toThrow(/channel_io/);
    expect(selectChannelConnector('stream')).toEqual({ connect: connectUnixChannel, used: 'stream' });
    expect(selectChannelConnector('pipe-handle').used).toBe('pipe-handle');
  });

  it('falls back to streams when this Node has no process.binding (a future Node)', async () => {
    const script = `
      process.binding = undefined;
      const { selectChannelConnector } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'channel-io.js')).href)});
      console.log(selectChannelConnector('pipe-handle').used);
    `;
    const child = execFile(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out.trim()).toBe('stream');
  });
});
