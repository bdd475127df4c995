/**
 * Delivers opt_script to the notification node when a watchdog fires (README "Notification").
 * raw: the whole script in one write, as the patch did, with the write result read the right way
 * round (awd spec §2.3). hmp: line by line, waiting for the `(qemu) ` prompt after each.
 * qmp: greeting, qmp_capabilities, then one command at a time, each reply checked. auto: decided from
 * what the monitor says first. Transport failures are retried with backoff, resuming at the first
 * command not yet answered; a command the monitor rejects is reported and not repeated.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { backoffDelayMs, type Clock } from '@guesthb/protocol';
import type { NotifyMode } from './config.js';
import { cut, Transcript, type CommandRecord } from './events.js';
import { MonitorClosedError, MonitorReader, type Matcher } from './monitor-reader.js';
import type { ParsedScript } from './script.js';

export interface NotifierPolicy {
  /** Parsed at start-up: a firing only picks the ready-made commands (issue 13). */
  readonly script: ParsedScript;
  readonly notify: NotifyMode;
  readonly notifyRetries: number;
  readonly notifyRetryMs: number;
  readonly notifyTimeoutMs: number;
}

/** A connection to the notification node; `owned` ones are closed after use (fresh per attempt). */
export interface NotifyConnection {
  readonly socket: Socket;
  readonly owned: boolean;
}

export interface NotifierDeps {
  readonly policy: NotifierPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly open: () => Promise<NotifyConnection>;
}

export interface NotifyResult {
  readonly ok: boolean;
  readonly mode: Exclude<NotifyMode, 'auto'> | 'unknown';
  readonly attempts: number;
  /** The transcript, bounded (events.ts Transcript). */
  readonly commands: readonly CommandRecord[];
  /** Present when the transcript left commands out: how many were sent in all. */
  readonly commandCount?: number;
  readonly reason?: string;
}

/** The commands of one notification and the first not yet answered (resumed by a retry). */
interface Plan {
  readonly commands: readonly string[];
  next: number;
}

type Mode = Exclude<NotifyMode, 'auto'>;
const PROMPT = '(qemu) ';
const DETECT_MS = 1000;
/** Commands of one notification logged one by one at info; the rest at debug (a long script must not flood). */
const LOGGED_COMMANDS = 50;
/** The fields of a QMP line awd looks at. */
interface QmpLine {
  readonly QMP?: unknown;
  readonly return?: unknown;
  readonly error?: { readonly class: string; readonly desc: string };
  readonly event?: string;
}

/** Thrown inside an attempt when the connection, not a command, failed: worth a retry. */
class TransportError extends Error {}

export class Notifier {
  readonly #deps: NotifierDeps;
  #script: ParsedScript;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    this.#script = deps.policy.script;
  }

  /** Replaces the script (SIGHUP); a notification already running keeps the one it started with. */
  setScript(script: ParsedScript): void {
    this.#script = script;
  }

  /** Runs the script to completion, until retries are exhausted, or until `signal` aborts; never throws. */
  async notify(signal?: AbortSignal): Promise<NotifyResult> {
    const { policy, clock, log } = this.#deps;
    const script = this.#script;
    const records = new Transcript();
    let mode: Mode | undefined;
    let plan: Plan | undefined;
    let reason = 'no attempt made';
    const maxAttempts = 1 + policy.notifyRetries;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        const delayMs = backoffDelayMs({ baseMs: policy.notifyRetryMs, maxMs: 30_000 }, attempt - 1);
        log.warn({ attempt, delayMs, reason }, 'notification failed; retrying');
        await sleep(clock, delayMs, signal);
      }
      if (signal?.aborted === true) return { ok: false, mode: mode ?? 'unknown', attempts: attempt - 1, ...records.toEvent(), reason: `awd closing (${reason})` };
      let conn: NotifyConnection | undefined;
      let reader: MonitorReader | undefined;
      // Closing awd cuts a notification short: its own connection is destroyed, so every wait ends now.
      const onAbort = (): void => {
        if (conn?.owned === true) conn.socket.destroy();
      };
      signal?.addEventListener('abort', onAbort);
      try {
        conn = await this.#deps.open();
        if (isAborted(signal)) onAbort(); // it may have aborted while we were connecting
        reader = new MonitorReader(conn.socket, clock);
        mode ??= policy.notify !== 'auto' ? policy.notify : conn.owned ? await detect(reader) : 'raw';
        plan ??= { commands: mode === 'raw' ? [script.text] : mode === 'hmp' ? script.hmp : script.qmp, next: 0 };
        await this.#run(mode, conn.socket, reader, plan, records);
        const first = records.firstRejected;
        if (first === undefined) return { ok: true, mode, attempts: attempt, ...records.toEvent() };
        return { ok: false, mode, attempts: attempt, ...records.toEvent(), reason: `rejected: ${first.sent} → ${first.answer}` };
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        reader?.dispose();
        if (conn?.owned === true) conn.socket.destroy();
      }
    }
    return { ok: false, mode: mode ?? 'unknown', attempts: maxAttempts, ...records.toEvent(), reason };
  }

  async #run(mode: Mode, socket: Socket, reader: MonitorReader, plan: Plan, records: Transcript): Promise<void> {
    const { commands } = plan;
    if (mode === 'raw') {
      const text = commands[plan.next];
      if (text === undefined) return;
      await writeAll(socket, text);
      this.#record(records, { sent: text, answer: null, ok: true });
      plan.next++;
      return;
    }
    const timeoutMs = this.#deps.policy.notifyTimeoutMs;
    if (mode === 'hmp') await reader.next(untilPrompt, timeoutMs, 'the (qemu) prompt').catch(asTransport);
    else await this.#qmpHandshake(socket, reader);
    for (let sent = commands[plan.next]; sent !== undefined; sent = commands[plan.next]) {
      if (records.count < LOGGED_COMMANDS) this.#deps.log.info({ sent: cut(sent) }, 'notify: command sent');
      else this.#deps.log.debug({ sent: cut(sent) }, 'notify: command sent');
      await writeAll(socket, mode === 'hmp' ? `${sent}\n` : sent).catch(asTransport);
      let record: CommandRecord;
      try {
        record = mode === 'hmp' ? await this.#hmpAnswer(sent, reader) : await this.#qmpAnswer(sent, reader);
      } catch (err) {
        if (!(err instanceof MonitorClosedError)) throw new TransportError(`${sent}: ${(err as Error).message}`);
        // The monitor went away right after the command (quit, or a reset with -no-reboot): it ran.
        plan.next++;
        this.#record(records, { sent, answer: null, ok: true });
        if (plan.next < commands.length) throw new TransportError(`monitor closed after '${sent}'`);
        return;
      }
      plan.next++;
      this.#record(records, record);
    }
  }

  async #hmpAnswer(sent: string, reader: MonitorReader): Promise<CommandRecord> {
    const raw = await reader.next(untilPrompt, this.#deps.policy.notifyTimeoutMs, `the answer to '${sent}'`);
    // HMP is a readline terminal: it echoes the line with ANSI redraws up to the first CRLF (e2e spec §2).
    // eslint-disable-next-line no-control-regex -- ESC is exactly what HMP's redraw sequences start with
    const text = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    const crlf = text.indexOf('\r\n');
    const answer = (crlf === -1 ? '' : text.slice(crlf + 2)).replace(/\r\n/g, '\n').trim();
    const ok = !/^(unknown command:|Error:|Error |Parameter .* missing|Invalid parameter)/m.test(answer);
    return { sent, answer, ok };
  }

  async #qmpHandshake(socket: Socket, reader: MonitorReader): Promise<void> {
    const timeoutMs = this.#deps.policy.notifyTimeoutMs;
    const greeting = await reader.next(qmpLine, timeoutMs, 'the QMP greeting').catch(asTransport);
    if (greeting.QMP === undefined) throw new TransportError('the monitor did not greet with QMP');
    await writeAll(socket, JSON.stringify({ execute: 'qmp_capabilities' })).catch(asTransport);
    const reply = await this.#qmpReply(reader, 'qmp_capabilities').catch(asTransport);
    if (reply.error !== undefined) throw new TransportError(`qmp_capabilities: ${reply.error.class}: ${reply.error.desc}`);
  }

  async #qmpAnswer(sent: string, reader: MonitorReader): Promise<CommandRecord> {
    const reply = await this.#qmpReply(reader, sent);
    if (reply.error !== undefined) return { sent, answer: `${reply.error.class}: ${reply.error.desc}`, ok: false };
    const answer = JSON.stringify(reply.return ?? null);
    // human-monitor-command returns HMP's text, in which QEMU reports HMP-level failures.
    const ok = !(typeof reply.return === 'string' && /^(unknown command:|Error:)/m.test(reply.return));
    return { sent, answer, ok };
  }

  async #qmpReply(reader: MonitorReader, what: string): Promise<QmpLine> {
    for (;;) {
      const line = await reader.next(qmpLine, this.#deps.policy.notifyTimeoutMs, `the reply to ${what}`);
      if (line.event !== undefined) {
        this.#deps.log.info({ qmpEvent: line.event }, 'notify: QMP event');
        continue;
      }
      if (line.return !== undefined || line.error !== undefined) return line;
    }
  }

  #record(records: Transcript, record: CommandRecord): void {
    records.add(record);
    const line = { sent: cut(record.sent), answer: record.answer === null ? null : cut(record.answer), ok: record.ok };
    if (records.count <= LOGGED_COMMANDS) this.#deps.log.info(line, 'notify: answer');
    else this.#deps.log.debug(line, 'notify: answer');
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function sleep(clock: Clock, delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, delayMs);
    signal?.addEventListener('abort', done);
    if (signal?.aborted === true) done();
  });
}

/** auto mode: a QMP greeting is a JSON line, HMP shows its prompt; silence means a raw peer. */
async function detect(reader: MonitorReader): Promise<Mode> {
  const detectMatch: Matcher<Mode> = (buffer) => {
    if (buffer.includes(PROMPT)) return { value: 'hmp', consumed: 0 };
    if (buffer.trimStart().startsWith('{') && buffer.includes('\n')) return { value: 'qmp', consumed: 0 };
    return undefined;
  };
  try {
    return await reader.next(detectMatch, DETECT_MS, 'a monitor greeting');
  } catch (err) {
    if (err instanceof MonitorClosedError) throw new TransportError(err.message);
    return 'raw';
  }
}

const untilPrompt: Matcher<string> = (buffer) => {
  const at = buffer.indexOf(PROMPT);
  return at === -1 ? undefined : { value: buffer.slice(0, at), consumed: at + PROMPT.length };
};

/** One QMP line; unparsable lines are skipped as empty objects (logged by nobody: QEMU never sends them). */
const qmpLine: Matcher<QmpLine> = (buffer) => {
  const nl = buffer.indexOf('\n');
  if (nl === -1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.slice(0, nl));
  } catch {
    parsed = {};
  }
  return { value: toQmpLine(parsed), consumed: nl + 1 };
};

/** Checks the fields awd reads (a hand-written guard: it runs once per reply, tens of thousands of times for a long script). */
function toQmpLine(value: unknown): QmpLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const line = value as { QMP?: unknown; return?: unknown; error?: unknown; event?: unknown };
  if (line.event !== undefined && typeof line.event !== 'string') return {};
  if (line.error !== undefined) {
    const error = line.error as { class?: unknown; desc?: unknown } | null;
    if (typeof error !== 'object' || error === null || typeof error.class !== 'string' || typeof error.desc !== 'string') return {};
  }
  return line as QmpLine;
}

function writeAll(socket: Socket, text: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(new TransportError('notification node not connected'));
      return;
    }
    socket.write(text, 'utf8', (err) => (err ? reject(new TransportError(err.message)) : resolve()));
  });
}

function asTransport(err: unknown): never {
  throw err instanceof TransportError ? err : new TransportError(err instanceof Error ? err.message : String(err));
}
