/**
 * A real QEMU with the heartbeat channel created exactly as libvirt does (a UNIX socket QEMU listens on,
 * a virtserialport named cgcs.heartbeat) and a QMP client. TCG only: KVM hangs on these machines
 * (qemu-e2e.md §3 pitfall 1). Readiness is the QMP greeting, never the socket file (§2 pitfall 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { channelFileName } from '@guesthb/protocol';
import type { GuestImage } from './guest-image.js';
import { waitFor } from '../../helpers/wait.js';

export interface VmOptions {
  readonly dir: string;
  readonly uuid: string;
  readonly image: GuestImage;
  /** heartbeat_interval_ms the guest announces in its init. */
  readonly heartbeatIntervalMs: number;
  /** corrective_action the guest announces. */
  readonly correctiveAction?: string;
  /** More kernel command-line parameters for the guest's /init (e.g. `hbdie=12`). */
  readonly extraAppend?: readonly string[];
}

export interface VmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One running QEMU. */
export class QemuVm {
  readonly channelPath: string;
  readonly qmpPath: string;
  readonly consolePath: string;
  readonly exited: Promise<VmExit>;
  #exit: VmExit | undefined;
  readonly #child: ChildProcess;
  #qmp: QmpClient | undefined;
  #stderr = '';

  private constructor(child: ChildProcess, channelPath: string, qmpPath: string, consolePath: string) {
    this.#child = child;
    this.channelPath = channelPath;
    this.qmpPath = qmpPath;
    this.consolePath = consolePath;
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-4000);
    });
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
      });
    });
  }

  /** Starts QEMU and returns once its QMP monitor greeted us and accepted qmp_capabilities. */
  static async start(options: VmOptions): Promise<QemuVm> {
    const channelPath = join(options.dir, channelFileName(options.uuid));
    const qmpPath = join(options.dir, `qmp.${options.uuid.slice(0, 8)}.sock`);
    const consolePath = join(options.dir, `console.${options.uuid.slice(0, 8)}.log`);
    const append = [
      'console=ttyS0', 'quiet', 'panic=-1',
      `hbms=${options.heartbeatIntervalMs}`, `hbaction=${options.correctiveAction ?? 'reboot'}`, ...(options.extraAppend ?? []),
    ].join(' ');
    const args = [
      // debug-threads=on names the vCPU threads "CPU n/TCG", as libvirt always asks (guest-server's corroboration reads them).
      '-name', 'guest=e2e,debug-threads=on',
      '-machine', 'pc', '-accel', 'tcg', '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot',
      '-kernel', options.image.kernelPath, '-initrd', options.image.initrdPath, '-append', append,
      '-serial', `file:${consolePath}`,
      '-device', 'virtio-serial',
      '-chardev', `socket,id=hb,path=${channelPath},server=on,wait=off`,
      '-device', 'virtserialport,chardev=hb,name=cgcs.heartbeat',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ];
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const vm = new QemuVm(child, channelPath, qmpPath, consolePath);
    try {
      // The file appears at bind(), a moment before listen(): retry ECONNREFUSED until the greeting.
      await waitFor(async () => {
        if (vm.#exit !== undefined) throw new Error(`exited ${JSON.stringify(vm.#exit)}`);
        if (!existsSync(qmpPath)) return false;
        vm.#qmp = await QmpClient.connect(qmpPath).catch(() => undefined);
        return vm.#qmp !== undefined;
      }, 10_000, 'the QMP greeting');
    } catch (error) {
      await vm.kill();
      throw new Error(`QEMU did not start: ${String(error)}; stderr: ${vm.#stderr}`);
    }
    return vm;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  get qmp(): QmpClient {
    if (this.#qmp === undefined) throw new Error('QMP not connected');
    return this.#qmp;
  }

  /** The guest's serial console so far (diagnostics, and the guest's own log lines). */
  async console(): Promise<string> {
    return readFile(this.consolePath, 'utf8').catch(() => '');
  }

  /**
   * Awaits `work` (typically: the guest's first message) but fails at once, with the console, if the
   * guest kernel panics or QEMU exits first, instead of running into the boot timeout.
   */
  async whileBooting<T>(work: Promise<T>): Promise<T> {
    let watching = true;
    const watch = async (): Promise<never> => {
      while (watching) {
        const text = await this.console();
        if (this.#exit !== undefined || text.includes('Kernel panic')) {
          throw new Error(`the guest did not boot (exit ${JSON.stringify(this.#exit)}):\n${text.slice(-3000)}`);
        }
        await delay(200);
      }
      return new Promise<never>(() => undefined);
    };
    try {
      return await Promise.race([work, watch()]);
    } catch (error) {
      throw new Error(`${String(error)}\nconsole:\n${(await this.console()).slice(-3000)}`);
    } finally {
      watching = false;
    }
  }

  /** Sends a signal (SIGKILL by default) and waits for the exit; the caller cleans stale socket files. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<VmExit> {
    this.#qmp?.close();
    if (this.#exit === undefined) this.#child.kill(signal);
    return this.exited;
  }

  /** Teardown: QMP quit (clean, removes the socket files), SIGKILL after a deadline, stale files removed. */
  async close(): Promise<void> {
    if (this.#exit === undefined && this.#qmp !== undefined && !this.#qmp.isClosed) {
      await this.#qmp.execute('quit').catch(() => undefined);
      await Promise.race([this.exited, delay(2_000)]);
    }
    await this.kill();
    await rm(this.channelPath, { force: true });
    await rm(this.qmpPath, { force: true });
  }
}

export interface QmpEvent {
  readonly event: string;
  readonly data?: unknown;
}

/** QMP over a UNIX socket: commands without a trailing newline, events kept, ECONNRESET taken as EOF (§2 pitfall 1). */
export class QmpClient {
  readonly events: QmpEvent[] = [];
  readonly #socket: Socket;
  #buffer = '';
  #closed = false;
  readonly #waiting: ((line: Record<string, unknown> | undefined) => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.#onData(text));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    });
  }

  static async connect(path: string): Promise<QmpClient> {
    const socket = createConnection({ path });
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', resolveConnect);
      socket.once('error', reject);
    });
    const client = new QmpClient(socket);
    try {
      const greeting = await client.#nextReply(5_000);
      if (greeting === undefined || !('QMP' in greeting)) throw new Error('no QMP greeting');
      await client.execute('qmp_capabilities');
      return client;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Runs one command; resolves with its `return`, rejects with its `error`. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.#closed) throw new Error('QMP closed');
    const reply = this.#nextReply(10_000);
    this.#socket.write(JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }));
    const line = await reply;
    if (line === undefined) {
      if (command === 'quit') return {};
      throw new Error(`QMP closed during ${command}`);
    }
    if ('error' in line) throw new Error(`QMP ${command}: ${JSON.stringify(line['error'])}`);
    return line['return'];
  }

  /** The VM's run state: running, paused … */
  async status(): Promise<string> {
    const reply = (await this.execute('query-status')) as { status?: string };
    return reply.status ?? 'unknown';
  }

  close(): void {
    this.#socket.destroy();
  }

  #nextReply(timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    return new Promise((resolveReply, reject) => {
      const waiter = (line: Record<string, unknown> | undefined): void => {
        clearTimeout(timer);
        resolveReply(line);
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(new Error(`no QMP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(waiter);
    });
  }

  #onData(text: string): void {
    this.#buffer += text;
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl < 0) return;
      const raw = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (raw.length === 0) continue;
      const line = JSON.parse(raw) as Record<string, unknown>;
      if (typeof line['event'] === 'string') {
        this.events.push({ event: line['event'], data: line['data'] });
        continue;
      }
      this.#waiting.shift()?.(line);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}
