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
import { z } from 'zod';
import { backoffDelayMs, type Clock } from '@guesthb/protocol';
import type { NotifyMode } from './config.js';
import { cut, type CommandRecord } from './events.js';
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
  readonly commands: readonly CommandRecord[];
  readonly reason?: string;
}

type Mode = Exclude<NotifyMode, 'auto'>;
const PROMPT = '(qemu) ';
const DETECT_MS = 1000;
/** Commands of one notification logged one by one at info; the rest at debug (a long script must not flood). */
const LOGGED_COMMANDS = 50;
const QmpLine = z.looseObject({
  QMP: z.unknown().optional(),
  return: z.unknown().optional(),
  error: z.looseObject({ class: z.string(), desc: z.string() }).optional(),
  event: z.string().optional(),
});

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
    const records: CommandRecord[] = [];
    let mode: Mode | undefined;
    let remaining: string[] | undefined;
    let reason = 'no attempt made';
    const maxAttempts = 1 + policy.notifyRetries;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) {
        const delayMs = backoffDelayMs({ baseMs: policy.notifyRetryMs, maxMs: 30_000 }, attempt - 1);
        log.warn({ attempt, delayMs, reason }, 'notification failed; retrying');
        await sleep(clock, delayMs, signal);
      }
      if (signal?.aborted === true) return { ok: false, mode: mode ?? 'unknown', attempts: attempt - 1, commands: records, reason: `awd closing (${reason})` };
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
        remaining ??= mode === 'raw' ? [script.text] : [...(mode === 'hmp' ? script.hmp : script.qmp)];
        await this.#run(mode, conn.socket, reader, remaining, records);
        const rejected = records.filter((r) => !r.ok);
        if (rejected.length === 0) return { ok: true, mode, attempts: attempt, commands: records };
        const first = rejected[0];
        return { ok: false, mode, attempts: attempt, commands: records, reason: `rejected: ${first?.sent} → ${first?.answer}` };
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        reader?.dispose();
        if (conn?.owned === true) conn.socket.destroy();
      }
    }
    return { ok: false, mode: mode ?? 'unknown', attempts: maxAttempts, commands: records, reason };
  }

  async #run(mode: Mode, socket: Socket, reader: MonitorReader, remaining: string[], records: CommandRecord[]): Promise<void> {
    if (mode === 'raw') {
      const text = remaining[0];
      if (text === undefined) return;
      await writeAll(socket, text);
      this.#record(records, { sent: text, answer: null, ok: true });
      remaining.shift();
      return;
    }
    const timeoutMs = this.#deps.policy.notifyTimeoutMs;
    if (mode === 'hmp') await reader.next(untilPrompt, timeoutMs, 'the (qemu) prompt').catch(asTransport);
    else await this.#qmpHandshake(socket, reader);
    while (remaining.length > 0) {
      const sent = remaining[0] ?? '';
      if (records.length < LOGGED_COMMANDS) this.#deps.log.info({ sent: cut(sent) }, 'notify: command sent');
      else this.#deps.log.debug({ sent: cut(sent) }, 'notify: command sent');
      await writeAll(socket, mode === 'hmp' ? `${sent}\n` : sent).catch(asTransport);
      let record: CommandRecord;
      try {
        record = mode === 'hmp' ? await this.#hmpAnswer(sent, reader) : await this.#qmpAnswer(sent, reader);
      } catch (err) {
        if (!(err instanceof MonitorClosedError)) throw new TransportError(`${sent}: ${(err as Error).message}`);
        // The monitor went away right after the command (quit, or a reset with -no-reboot): it ran.
        remaining.shift();
        this.#record(records, { sent, answer: null, ok: true });
        if (remaining.length > 0) throw new TransportError(`monitor closed after '${sent}'`);
        return;
      }
      remaining.shift();
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

  async #qmpReply(reader: MonitorReader, what: string): Promise<z.infer<typeof QmpLine>> {
    for (;;) {
      const line = await reader.next(qmpLine, this.#deps.policy.notifyTimeoutMs, `the reply to ${what}`);
      if (line.event !== undefined) {
        this.#deps.log.info({ qmpEvent: line.event }, 'notify: QMP event');
        continue;
      }
      if (line.return !== undefined || line.error !== undefined) return line;
    }
  }

  #record(records: CommandRecord[], record: CommandRecord): void {
    records.push(record);
    const line = { sent: cut(record.sent), answer: record.answer === null ? null : cut(record.answer), ok: record.ok };
    if (records.length <= LOGGED_COMMANDS) this.#deps.log.info(line, 'notify: answer');
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
const qmpLine: Matcher<z.infer<typeof QmpLine>> = (buffer) => {
  const nl = buffer.indexOf('\n');
  if (nl === -1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.slice(0, nl));
  } catch {
    parsed = {};
  }
  const result = QmpLine.safeParse(parsed);
  return { value: result.success ? result.data : {}, consumed: nl + 1 };
};

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
