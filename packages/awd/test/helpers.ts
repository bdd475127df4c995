/** Shared test helpers: temp dirs, event capture, bounded waits, free ports. */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { onTestFinished } from 'vitest';
import type { AwdEvent, EventSink } from '../src/events.js';

export const silentLog: Logger = pino({ level: 'silent' });

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'awd-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export class CapturedEvents implements EventSink {
  readonly events: AwdEvent[] = [];
  emit(event: AwdEvent): void {
    this.events.push(event);
  }
  of<K extends AwdEvent['event']>(kind: K): Extract<AwdEvent, { event: K }>[] {
    return this.events.filter((e): e is Extract<AwdEvent, { event: K }> => e.event === kind);
  }
}

/** Polls `check` every 10 ms until it returns a value (not undefined/false) or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const start = performance.now();
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port that was free a moment ago (QEMU needs a number, not 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Frames a payload the way the patch does: 4-byte big-endian length first. */
export function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}
