/**
 * A raw guest for fault injection: it plays QEMU's side of the channel (listens on
 * DIR/cgcs.heartbeat.<uuid>.sock), sends init when guest-server connects and echoes every challenge, with
 * full control of the bytes: every write can be cut into single bytes (every byte boundary), and garbage
 * or oversized lines can be written at will. It records when each challenge arrived (performance.now()).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { channelFileName, encodeMessage } from '@guesthb/protocol';

export interface RawGuestOptions {
  readonly dir: string;
  readonly uuid: string;
  readonly intervalMs: number;
  /** Write every message one byte at a time with this gap (ms) between bytes. */
  readonly bytewiseGapMs?: number;
}

export class RawGuest {
  readonly uuid: string;
  readonly path: string;
  /** Arrival times of challenges, ms (performance.now()). */
  readonly challengeTimes: number[] = [];
  readonly hostMessages: string[] = [];
  answering = true;
  connections = 0;
  readonly #opts: RawGuestOptions;
  #server: Server | undefined;
  #socket: Socket | undefined;
  #pending = '';
  #writeChain: Promise<void> = Promise.resolve();

  constructor(options: RawGuestOptions) {
    this.#opts = options;
    this.uuid = options.uuid;
    this.path = join(options.dir, channelFileName(options.uuid));
  }

  get socket(): Socket | undefined {
    return this.#socket;
  }

  /** Number of init_ack messages received. */
  get initAcks(): number {
    return this.hostMessages.filter((m) => m.includes('"init_ack"')).length;
  }

  async start(): Promise<void> {
    await rm(this.path, { force: true });
    const server = createServer((socket) => this.#onConnection(socket));
    server.maxConnections = 1;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  /** Writes raw bytes on the connection as they are (no splitting). */
  writeRaw(bytes: Buffer | string): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return false;
    return socket.write(bytes);
  }

  #onConnection(socket: Socket): void {
    if (this.#socket !== undefined) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.connections++;
    this.#pending = '';
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#send(encodeMessage({
      msg_type: 'init', sequence: 1, invocation_id: 1, name: `raw-${this.uuid.slice(-4)}`, heartbeat_interval_ms: this.#opts.intervalMs,
      vote_secs: 8, shutdown_notice_secs: 8, suspend_notice_secs: 8, resume_notice_secs: 8, restart_secs: 60, corrective_action: 'reboot',
    }));
  }

  #onData(chunk: Buffer): void {
    const now = performance.now();
    this.#pending += chunk.toString('latin1');
    let nl = this.#pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.#pending.slice(0, nl).trim();
      this.#pending = this.#pending.slice(nl + 1);
      nl = this.#pending.indexOf('\n');
      if (line === '') continue;
      this.hostMessages.push(line);
      if (this.hostMessages.length > 10_000) this.hostMessages.splice(0, 5_000);
      const m = /"heartbeat_challenge":(-?\d+)/.exec(line);
      if (m === null) continue;
      this.challengeTimes.push(now);
      if (!this.answering) continue;
      this.#send(encodeMessage({
        msg_type: 'challenge_response', sequence: 2, heartbeat_response: Number(m[1]), heartbeat_health: 'healthy', corrective_action: 'none', log_msg: '',
      }));
    }
  }

  #send(bytes: Buffer): void {
    const gap = this.#opts.bytewiseGapMs;
    if (gap === undefined) {
      this.writeRaw(bytes);
      return;
    }
    // One byte per write with a gap, so the reader sees the message cut at every byte boundary.
    this.#writeChain = this.#writeChain.then(async () => {
      for (let i = 0; i < bytes.length; i++) {
        if (!this.writeRaw(bytes.subarray(i, i + 1))) return;
        await new Promise((tick) => setTimeout(tick, gap));
      }
    });
  }
}

/** Gaps between consecutive challenge arrivals, ms. */
export function intervalsOf(times: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push((times[i] ?? 0) - (times[i - 1] ?? 0));
  return out;
}
