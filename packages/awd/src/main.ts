/**
 * Composition root (STYLE.md R14): argv → config → logger → event log → awd → http → signals.
 * The only file that reads process.env, opens files and installs signal handlers.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import type http from 'node:http';
import { pino } from 'pino';
import { Awd } from './awd.js';
import { systemClock } from './clock.js';
import { buildConfig, parseArgs, parseConfigFile, type AwdConfig } from './config.js';
import { AwdError, AwdErrorCode } from './errors.js';
import { fanOut, jsonLinesSink, type EventSink } from './events.js';
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
  return buildConfig(raw, (path) => readFileSync(path, 'utf8'));
}

export const USAGE = `usage: awd [--config FILE]... [--chardev OPTS]... [--object OPTS]... [--http [HOST:]PORT]
           [--event-log FILE] [--log-level LEVEL]
  --chardev socket,id=ID,host=H,port=P[,server=on|off][,wait=on|off][,reconnect=S]   (or path=SOCKET)
  --object advanced-watchdog,id=ID,awd_node=ID,notification_node=ID,opt_script=FILE,iothread=ID
           [,server=on|off][,pulse_interval=MS][,timeout=MS][,input=any|frame|watchdog1]
           [,notify=auto|raw|hmp|qmp][,arm_at_start=on|off][,notify_retries=N][,notify_retry_ms=MS]
           [,notify_timeout_ms=MS]
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
  const eventFile = config.eventLogPath === undefined ? undefined : createWriteStream(config.eventLogPath, { flags: 'a' });
  eventFile?.on('error', (err) => log.error({ err }, 'event log write failed'));
  if (eventFile !== undefined) sinks.push(jsonLinesSink(eventFile));
  const metrics = createMetrics();
  const awd = new Awd({ config, clock: systemClock, log, events: fanOut(sinks), metrics });
  const sd = createSdNotifier(env, log);
  let server: http.Server | undefined;
  let sdTimer: NodeJS.Timeout | undefined;

  const close = async (): Promise<void> => {
    sd.notify('STOPPING=1');
    if (sdTimer !== undefined) clearInterval(sdTimer);
    if (server !== undefined) await stopHttpServer(server);
    await awd.close();
    await new Promise<void>((resolve) => (eventFile === undefined ? resolve() : eventFile.end(resolve)));
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
  process.on('SIGHUP', () => log.warn('SIGHUP: awd reads its config once (like the patch); restart to apply changes'));

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
