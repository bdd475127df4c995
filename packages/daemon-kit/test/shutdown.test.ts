/** Signal handling with an injected exit and a ManualClock (STYLE.md R6, R14): no real signals, no sleeps. */
import { ManualClock } from '@guesthb/protocol';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { installReload, installShutdown } from '../src/index.js';

/** A logger whose lines the test reads back. */
function capturingLogger(): { log: Logger; messages: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      lines.push(chunk.toString());
      callback();
    },
  });
  const log = pino({ level: 'trace' }, sink);
  return { log, messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

/** The listeners `install` adds for `event`, so the test can call them without signalling the test process. */
function added(event: 'SIGTERM' | 'SIGINT' | 'SIGHUP', install: () => void): Array<(signal: NodeJS.Signals) => void> {
  const before = process.listeners(event);
  install();
  return process.listeners(event).filter((l) => !before.includes(l)) as Array<(signal: NodeJS.Signals) => void>;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('installShutdown', () => {
  it('closes on SIGTERM, exits 0, clears its deadline and uninstalls both handlers', async () => {
    const { log, messages } = capturingLogger();
    const clock = new ManualClock();
    const exits: number[] = [];
    let uninstall = (): void => undefined;
    const [onTerm] = added('SIGTERM', () => {
      uninstall = installShutdown({ log, clock, timeoutMs: 5000, close: () => Promise.resolve(), exit: (c) => exits.push(c) });
    });
    onTestFinished(uninstall);
    expect(process.listeners('SIGINT')).toContain(onTerm);
    onTerm?.('SIGTERM');
    expect(process.listeners('SIGTERM')).not.toContain(onTerm);
    expect(process.listeners('SIGINT')).not.toContain(onTerm);
    await flush();
    expect(exits).toEqual([0]);
    expect(clock.pendingTimers).toBe(0);
    expect(messages()).toEqual(['shutdown requested', 'shutdown complete']);
  });

  it('exits 1 when close rejects', async () => {
    const { log, messages } = capturingLogger();
    const clock = new ManualClock();
    const exits: number[] = [];
    const [onInt] = added('SIGINT', () => {
      installShutdown({ log, clock, timeoutMs: 5000, close: () => Promise.reject(new Error('stuck socket')), exit: (c) => exits.push(c) });
    });
    onInt?.('SIGINT');
    await flush();
    expect(exits).toEqual([1]);
    expect(clock.pendingTimers).toBe(0);
    expect(messages()).toEqual(['shutdown requested', 'shutdown failed']);
  });

  it('exits 1 at the deadline when close hangs', async () => {
    const { log, messages } = capturingLogger();
    const clock = new ManualClock();
    const exits: number[] = [];
    const close = deferred();
    const [onTerm] = added('SIGTERM', () => {
      installShutdown({ log, clock, timeoutMs: 3000, close: () => close.promise, exit: (c) => exits.push(c) });
    });
    onTerm?.('SIGTERM');
    clock.advance(2999);
    expect(exits).toEqual([]);
    clock.advance(1);
    expect(exits).toEqual([1]);
    expect(messages()).toEqual(['shutdown requested', 'graceful shutdown timed out']);
    close.resolve();
    await flush();
  });

  it('returns an uninstaller that removes both handlers', () => {
    const { log } = capturingLogger();
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    const uninstall = installShutdown({ log, timeoutMs: 1, close: () => Promise.resolve(), exit: () => undefined });
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual([before[0]! + 1, before[1]! + 1]);
    uninstall();
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before);
  });
});

describe('installReload', () => {
  it('calls reload on every SIGHUP and logs success and failure', async () => {
    const { log, messages } = capturingLogger();
    let calls = 0;
    let uninstall = (): void => undefined;
    const [onHup] = added('SIGHUP', () => {
      uninstall = installReload(log, () => (++calls === 1 ? Promise.resolve() : Promise.reject(new Error('bad ini'))));
    });
    onTestFinished(uninstall);
    onHup?.('SIGHUP');
    await flush();
    onHup?.('SIGHUP');
    await flush();
    expect(calls).toBe(2);
    expect(messages()).toEqual([
      'reload requested (SIGHUP)', 'reload complete', 'reload requested (SIGHUP)', 'reload failed; keeping the previous settings',
    ]);
    uninstall();
    expect(process.listeners('SIGHUP')).not.toContain(onHup);
  });
});
