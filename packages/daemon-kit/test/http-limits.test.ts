/** Bounded HTTP listeners (issue 11 item 3) on a real loopback server: caps, per-address limit, idle timeout. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { applyHttpLimits, connectionCap, descriptorLimits, type ConnectionRefusal } from '../src/http-limits.js';

describe('http limits', () => {
  it('the connection cap stays within a quarter of the soft descriptor limit', () => {
    expect(connectionCap(256, 1, 1024)).toBe(256);
    expect(connectionCap(256, 2, 1024)).toBe(128);
    expect(connectionCap(256, 1, 400)).toBe(100);
    expect(connectionCap(256, 1, undefined)).toBe(256);
    expect(connectionCap(256, 4, 16)).toBe(8);
    expect(descriptorLimits(() => 'Max open files            1024                 4096                 files\n')).toEqual({ soft: 1024, hard: 4096 });
    expect(descriptorLimits(() => 'nothing')).toBeUndefined();
  });

  it('refuses connections beyond the per-address limit and closes idle ones; others still get through', async () => {
    const refused: ConnectionRefusal[] = [];
    const server = createServer((_req, res) => res.end('ok'));
    applyHttpLimits(server, { maxConnections: 50, maxConnectionsPerAddress: 3, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 500, idleTimeoutMs: 800 }, {
      onRefused: (reason) => refused.push(reason), softDescriptorLimit: 100_000,
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    const { port } = server.address() as { port: number };
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const index = i;
      closed[index] = false;
      s.on('error', () => undefined);
      s.on('close', () => { closed[index] = true; });
      sockets.push(s);
    }
    onTestFinished(() => { for (const s of sockets) s.destroy(); });
    await expect.poll(() => refused.length, { timeout: 5_000 }).toBe(3);
    expect(refused.every((r) => r === 'per-address')).toBe(true);
    // Another address is served while 127.0.0.2 holds its three.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe('ok');
    // The idle ones are closed by the idle timeout.
    await expect.poll(() => closed.every(Boolean), { timeout: 5_000 }).toBe(true);
  });
});
