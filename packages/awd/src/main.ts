/**
 * Composition root (STYLE.md R14): argv → config → logger → event log → awd → http → signals.
 * The only file that reads process.env, opens files and installs signal handlers.
 */
import { closeSync, createWriteStream, openSync, readFileSync, readSync, type WriteStream } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type http from 'node:http';
import { pino } from 'pino';
import { Awd } from './awd.js';
import { systemClock } from './clock.js';
import { buildConfig, parseArgs, parseConfigFile, type AwdConfig } from './config.js';
import { AwdError, AwdErrorCode } from './errors.js';
import { fanOut, jsonLinesSink, type AwdEvent, type EventSink } from './events.js';
import { httpPort, startHttpServer, stopHttpServer } from './http-server.js';
import { createMetrics } from './metrics.js';
import { createSdNotifier } from './sd-notify.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Reads argv and every --config file into one config; throws AwdError (exit 2) on mistakes. */
export function loadConfig(argv: readonly string[]): AwdConfig {
  const raw = parseArgs(argv);
  for (const file of raw.configFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AwdError(AwdErrorCode.USAGE, `cannot read config file ${file}`, { cause: err });
    }
    parseConfigFile(text, raw, file);
  }
  return buildConfig(raw, readBounded);
}

/** Reads a file in 64 KiB steps, stopping once it holds more than `maxBytes`: enough to refuse it, never more. */
function readBounded(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) break;
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export const USAGE = `usage: awd [--config FILE]... [--chardev OPTS]... [--object OPTS]... [--http [HOST:]PORT]
           [--event-log FILE] [--log-level LEVEL]
  --chardev socket,id=ID,host=H,port=P[,server=on|off][,wait=on|off][,reconnect=S]   (or path=SOCKET)
  --object advanced-watchdog,id=ID,awd_node=ID,notification_node=ID,opt_script=FILE,iothread=ID
           [,server=on|off][,pulse_interval=MS][,timeout=MS][,input=any|frame|watchdog1]
           [,notify=auto|raw|hmp|qmp][,arm_at_start=on|off][,notify_retries=N][,notify_retry_ms=MS]
           [,notify_timeout_ms=MS][,max_script_bytes=N][,stall_threshold_ms=MS]
  --object iothread,id=ID   accepted and ignored. Single-dash spellings (-chardev, -object) work too.
See README.md of @guesthb/awd.`;

/** Runs awd until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig(argv);
  const log = pino({ name: 'awd', level: config.logLevel });
  const sinks: EventSink[] = [{ emit: (event) => log.info(event, `event ${event.event}`) }];
  const eventLog = config.eventLogPath === undefined ? undefined : new ReopenableEventLog(config.eventLogPath, log);
  if (eventLog !== undefined) sinks.push(eventLog);
  const metrics = createMetrics(config.watchdogs.map((w) => w.id));
  const awd = new Awd({ config, clock: systemClock, log, events: fanOut(sinks), metrics });
  const sd = createSdNotifier(env, log);
  let server: http.Server | undefined;
  let sdTimer: NodeJS.Timeout | undefined;

  const close = async (): Promise<void> => {
    sd.notify('STOPPING=1');
    if (sdTimer !== undefined) clearInterval(sdTimer);
    if (server !== undefined) await stopHttpServer(server);
    await awd.close();
    await eventLog?.close();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    log.info({ signal }, 'shutdown requested');
    const deadline = setTimeout(() => {
      log.fatal({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    close().then(
      () => {
        log.info('shutdown complete');
        process.exitCode = 0;
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    ).finally(() => clearTimeout(deadline));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => reload(argv, config, log, eventLog, awd));

  await awd.start();
  if (config.http !== undefined) {
    server = await startHttpServer(
      { registry: metrics.registry, status: () => awd.status(), healthy: () => !awd.isClosing },
      config.http.host,
      config.http.port,
    );
    log.info({ port: httpPort(server), host: config.http.host }, 'http listening');
  }
  sd.notify('READY=1');
  if (sd.watchdogIntervalMs !== undefined) sdTimer = setInterval(() => sd.notify('WATCHDOG=1'), sd.watchdogIntervalMs);
  log.info('awd ready');
}

/**
 * SIGHUP: reopen the event log (after logrotate moved it), apply a new log level, and re-read and parse
 * every opt_script, applying the changed ones (a script that no longer parses keeps the running one:
 * the whole config is refused). Nodes and watchdog options are read once at start: a change to them is
 * logged as needing a restart.
 */
function reload(argv: readonly string[], running: AwdConfig, log: Logger, eventLog: ReopenableEventLog | undefined, awd: Awd): void {
  eventLog?.reopen();
  let next: AwdConfig;
  try {
    next = loadConfig(argv);
  } catch (err) {
    log.error({ err }, 'SIGHUP: config no longer valid (scripts included); keeping the running one');
    return;
  }
  const scripts = awd.updateScripts(next.watchdogs);
  if (scripts.length > 0) log.info({ watchdogs: scripts }, 'SIGHUP: new opt_script applied');
  if (next.logLevel !== log.level) {
    log.info({ from: log.level, to: next.logLevel }, 'SIGHUP: log level changed');
    log.level = next.logLevel;
  }
  const rest = (c: AwdConfig): unknown => ({ ...c, logLevel: undefined, watchdogs: c.watchdogs.map((w) => ({ ...w, script: undefined })) });
  if (!isDeepStrictEqual(rest(next), rest(running))) log.warn('SIGHUP: nodes or watchdog options changed; restart awd to apply them');
  else log.info('SIGHUP: reloaded (event log reopened)');
}

/** The JSON-lines event log, reopened on SIGHUP so that logrotate can move it away. */
class ReopenableEventLog implements EventSink {
  readonly #path: string;
  readonly #log: Logger;
  #stream: WriteStream;
  #sink: EventSink;

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
    this.#stream = this.#open();
    this.#sink = jsonLinesSink(this.#stream);
  }

  emit(event: AwdEvent): void {
    this.#sink.emit(event);
  }

  reopen(): void {
    const old = this.#stream;
    this.#stream = this.#open();
    this.#sink = jsonLinesSink(this.#stream);
    old.end();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#stream.end(resolve));
  }

  #open(): WriteStream {
    const stream = createWriteStream(this.#path, { flags: 'a' });
    stream.on('error', (err) => this.#log.error({ err, path: this.#path }, 'event log write failed'));
    return stream;
  }
}
