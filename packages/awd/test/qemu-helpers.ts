/** Real QEMU and real awd processes for the end-to-end tests (e2e spec §2: gate on the QMP greeting). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import type { AwdEvent } from '../src/events.js';
import { waitFor } from './helpers.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

export interface Proc {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  readonly stdout: string[];
}

function track(child: ChildProcess): Proc {
  const stdout: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exit;
      clearTimeout(timer);
    }
  });
  return { child, exit, stdout };
}

/** A small QMP client: greeting, capabilities, commands one at a time, events collected. */
export class QmpObserver {
  readonly events: { event: string; data?: unknown }[] = [];
  readonly #socket: net.Socket;
  #buffer = '';
  #waiters: ((line: Record<string, unknown>) => void)[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
        const line = JSON.parse(this.#buffer.slice(0, nl)) as Record<string, unknown>;
        this.#buffer = this.#buffer.slice(nl + 1);
        if (typeof line['event'] === 'string') this.events.push({ event: line['event'], data: line['data'] });
        else this.#waiters.shift()?.(line);
      }
    });
  }

  static async connect(path: string): Promise<QmpObserver> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    const qmp = new QmpObserver(socket);
    await qmp.#next(); // greeting
    await qmp.execute('qmp_capabilities');
    onTestFinished(() => void socket.destroy());
    return qmp;
  }

  execute(command: string): Promise<Record<string, unknown>> {
    const reply = this.#next();
    this.#socket.write(JSON.stringify({ execute: command }));
    return reply;
  }

  #next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export interface Qemu extends Proc {
  readonly observer: QmpObserver;
}

/** Starts `qemu-system-x86_64 -machine none` with a QMP observer socket plus `monitorArgs`. */
export async function startQemu(dir: string, name: string, monitorArgs: string[]): Promise<Qemu> {
  const observerPath = join(dir, `${name}-obs.sock`);
  const child = spawn(
    'qemu-system-x86_64',
    ['-machine', 'none', '-accel', 'tcg', '-nographic', '-nodefaults', '-qmp', `unix:${observerPath},server=on,wait=off`, ...monitorArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const proc = track(child);
  await waitFor(() => canConnect(observerPath), 10_000, 'QEMU observer socket');
  const observer = await QmpObserver.connect(observerPath);
  return { ...proc, observer };
}

const connectable = new Map<string, boolean>();
function canConnect(path: string): boolean {
  if (connectable.get(path) === true) return true;
  const s = net.connect(path);
  s.on('connect', () => {
    connectable.set(path, true);
    s.destroy();
  });
  s.on('error', () => s.destroy());
  return false;
}

export interface AwdProc extends Proc {
  readonly events: () => AwdEvent[];
  waitEvent(pred: (e: AwdEvent) => boolean, timeoutMs: number, what: string): Promise<AwdEvent>;
}

/** Runs the awd CLI with `args`; events are read back from `eventLog`. */
export function startAwd(args: string[], eventLog: string): AwdProc {
  const proc = track(spawn(process.execPath, [BIN, ...args, '--event-log', eventLog], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const events = (): AwdEvent[] => {
    let text = '';
    try {
      text = readFileSync(eventLog, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AwdEvent);
  };
  return {
    ...proc,
    events,
    waitEvent: (pred, timeoutMs, what) => waitFor(() => events().find(pred), timeoutMs, `${what}; awd output:\n${proc.stdout.join('')}`),
  };
}

/** The port awd's --http server bound, read from its log line. */
export async function awdHttpPort(proc: Proc): Promise<number> {
  return waitFor(() => {
    const m = /"port":(\d+)[^\n]*"msg":"http listening"/.exec(proc.stdout.join(''));
    return m === null ? undefined : Number(m[1]);
  }, 5000, 'http listening');
}
