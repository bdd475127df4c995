import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../src/clock.js';
import type { ChardevSpec, NodeAddress } from '../src/config.js';
import { SocketNode } from '../src/socket-node.js';
import { silentLog, tempDir, waitFor } from './helpers.js';

function makeNode(spec: Omit<ChardevSpec, 'id'>): { node: SocketNode; received: Buffer[]; ups: number[] } {
  const received: Buffer[] = [];
  const ups: number[] = [];
  const node = new SocketNode({
    spec: { id: 'n', ...spec },
    clock: systemClock,
    log: silentLog,
    onData: (chunk) => received.push(chunk),
    onConnected: () => ups.push(1),
    onDisconnected: () => ups.push(0),
  });
  onTestFinished(() => node.close());
  return { node, received, ups };
}

function connectTo(address: net.AddressInfo | string): net.Socket {
  const socket = typeof address === 'string' ? net.connect(address) : net.connect(address.port, '127.0.0.1');
  socket.on('error', () => undefined);
  onTestFinished(() => void socket.destroy());
  return socket;
}

async function peerServer(address: NodeAddress): Promise<{ server: net.Server; sockets: net.Socket[]; data: string[] }> {
  const sockets: net.Socket[] = [];
  const data: string[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => data.push(d.toString()));
  });
  if (address.kind === 'unix') server.listen(address.path);
  else server.listen(address.port, address.host);
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { server, sockets, data };
}

describe('SocketNode: listening (server=on)', () => {
  it.each(['tcp', 'unix'] as const)('%s: accepts a peer, delivers its bytes, writes back, notices it leave', async (kind) => {
    const address: NodeAddress = kind === 'tcp' ? { kind, host: '127.0.0.1', port: 0 } : { kind, path: join(await tempDir(), 'n.sock') };
    const { node, received, ups } = makeNode({ address, server: true, reconnectS: 0 });
    await node.start();
    expect(node.write(Buffer.from('lost'))).toBe(false); // nobody there: dropped, like the patch
    const bound = node.boundAddress;
    if (bound === null) throw new Error('not bound');
    const peer = connectTo(bound);
    await waitFor(() => node.connected, 2000, 'connection');
    peer.write('beat');
    await waitFor(() => received.length > 0, 2000, 'data');
    expect(Buffer.concat(received).toString()).toBe('beat');
    expect(node.write(Buffer.from('pulse'))).toBe(true);
    const [echo] = (await once(peer, 'data')) as [Buffer];
    expect(echo.toString()).toBe('pulse');
    peer.destroy();
    await waitFor(() => !node.connected, 2000, 'disconnect');
    expect(ups).toEqual([1, 0]);
  });

  it('a second peer replaces the first', async () => {
    const { node, received } = makeNode({ address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, server: true, reconnectS: 0 });
    await node.start();
    const bound = node.boundAddress as net.AddressInfo;
    const first = connectTo(bound);
    await waitFor(() => node.connected, 2000, 'first');
    const firstClosed = once(first, 'close');
    const second = connectTo(bound);
    await firstClosed;
    second.write('two');
    await waitFor(() => received.length > 0, 2000, 'data from second');
    expect(Buffer.concat(received).toString()).toBe('two');
  });

  it('replaces a stale UNIX socket file, as QEMU does (e2e spec §2 pitfall 3)', async () => {
    const path = join(await tempDir(), 's.sock');
    // A process killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await once(child, 'exit');
    expect(existsSync(path)).toBe(true);
    const { node } = makeNode({ address: { kind: 'unix', path }, server: true, reconnectS: 0 });
    await node.start();
    const peer = connectTo(path);
    await waitFor(() => node.connected, 2000, 'connection on the re-bound path');
    peer.destroy();
  });

  it('reports a bind failure as AWD_ERR_LISTEN', async () => {
    const tcp = makeNode({ address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, server: true, reconnectS: 0 });
    await tcp.node.start();
    const port = (tcp.node.boundAddress as net.AddressInfo).port;
    const clash = makeNode({ address: { kind: 'tcp', host: '127.0.0.1', port }, server: true, reconnectS: 0 });
    await expect(clash.node.start()).rejects.toMatchObject({ code: 'AWD_ERR_LISTEN' });
  });
});

describe('SocketNode: connecting (server=off)', () => {
  it.each(['tcp', 'unix'] as const)('%s: connects, and reconnects after reconnect=1 s when the peer drops it', async (kind) => {
    const address: NodeAddress = kind === 'tcp' ? { kind, host: '127.0.0.1', port: 0 } : { kind, path: join(await tempDir(), 'p.sock') };
    const peer = await peerServer(address);
    const real: NodeAddress = address.kind === 'tcp' ? { ...address, port: (peer.server.address() as net.AddressInfo).port } : address;
    const { node, received, ups } = makeNode({ address: real, server: false, reconnectS: 1 });
    await node.start();
    await waitFor(() => peer.sockets.length === 1 && node.connected, 3000, 'first connection');
    node.write(Buffer.from('pulse'));
    await waitFor(() => peer.data.join('') === 'pulse', 2000, 'pulse');
    peer.sockets[0]?.write('reply');
    await waitFor(() => received.length > 0, 2000, 'reply');
    const t0 = performance.now();
    peer.sockets[0]?.destroy();
    await waitFor(() => peer.sockets.length === 2, 4000, 'reconnection');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    await waitFor(() => node.connected, 2000, 'connected again');
    expect(ups).toEqual([1, 0, 1]);
  });

  it('keeps dialling a peer that is not there yet (no reconnect given: backoff from 1 s)', async () => {
    const path = join(await tempDir(), 'late.sock');
    const { node } = makeNode({ address: { kind: 'unix', path }, server: false, reconnectS: 0 });
    await node.start();
    expect(node.connected).toBe(false);
    const peer = await peerServer({ kind: 'unix', path });
    await waitFor(() => peer.sockets.length === 1, 4000, 'late connection');
    await node.close();
    await node.close();
  });
});
