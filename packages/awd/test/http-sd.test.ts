/** The --http endpoint's edges and the sd_notify switch (the happy paths run in qemu-hmp.test.ts). */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { httpPort, startHttpServer, stopHttpServer } from '../src/http-server.js';
import { createMetrics } from '../src/metrics.js';
import { createSdNotifier } from '../src/sd-notify.js';
import { silentLog } from './helpers.js';

describe('http server', () => {
  it('serves /healthz (503 while closing), /status, /metrics; 404 and 405 otherwise', async () => {
    const metrics = createMetrics();
    metrics.timeout('w', 1.5);
    metrics.nodeConnected('n', true);
    let closing = false;
    const server = await startHttpServer({ registry: metrics.registry, status: () => ({ watchdogs: [] }), healthy: () => !closing }, '127.0.0.1', 0);
    onTestFinished(() => stopHttpServer(server));
    const base = `http://127.0.0.1:${httpPort(server)}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/status`)).json()).toEqual({ watchdogs: [] });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('awd_timeouts_total{watchdog="w"} 1');
    expect(text).toContain('awd_node_connected{node="n"} 1');
    expect(text).toContain('awd_firing_late_seconds_bucket{le="0.002",watchdog="w"} 1');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: 'POST' })).status).toBe(405);
    closing = true;
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });
});

describe('http server limits', () => {
  it('closes connections past the per-address bound at accept and idle ones after the idle timeout; still answers', async () => {
    const metrics = createMetrics();
    const limits = { maxConnections: 64, maxConnectionsPerAddress: 4, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 500, idleTimeoutMs: 300 };
    const server = await startHttpServer({ registry: metrics.registry, status: () => ({}), healthy: () => true }, '127.0.0.1', 0, limits);
    onTestFinished(() => stopHttpServer(server));
    const port = httpPort(server);
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      closed.push(false);
      s.on('close', () => { closed[i] = true; });
      await once(s, 'connect');
      sockets.push(s);
    }
    // The four past the bound are closed at once; the first four are idle and closed by the idle timeout.
    await Promise.all(sockets.map((s) => (s.destroyed ? undefined : once(s, 'close'))));
    expect(closed.every(Boolean)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});

describe('sd_notify', () => {
  it('is a no-op without NOTIFY_SOCKET; the watchdog interval is half of WATCHDOG_USEC', () => {
    const off = createSdNotifier({}, silentLog);
    expect(off.watchdogIntervalMs).toBeUndefined();
    off.notify('READY=1');
    const on = createSdNotifier({ NOTIFY_SOCKET: '/nonexistent/notify', WATCHDOG_USEC: '30000000' }, silentLog);
    expect(on.watchdogIntervalMs).toBe(15_000);
    expect(createSdNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, silentLog).watchdogIntervalMs).toBeUndefined();
  });
});
