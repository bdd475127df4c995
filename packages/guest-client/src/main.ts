/** Composition root of `guest-client` (STYLE.md R14): the in-guest client, or a simulator process. */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError, createRootLogger, removePidfile, systemClock, writePidfile } from '@guesthb/daemon-kit';
import { encodeMessage } from '@guesthb/protocol';
import { openChannel, type Channel } from './channel.js';
import { AppApiServer } from './app-api-server.js';
import { parseCliArgs, USAGE, type CliOptions } from './cli-args.js';
import { ClientSession } from './client-session.js';
import { DEFAULT_CLIENT_CONFIG, DEFAULT_CONFIG_PATH, parseClientConfig, type ClientConfig } from './config.js';
import { DEVICE_MISSING_EXIT_CODE, GuestClientError } from './errors.js';
import { GlibcRandom } from './glibc-rand.js';
import { eventScriptPort, healthScriptPort } from './script-ports.js';
import { startSimulatedGuests } from './simulator.js';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const options = parseCliArgs(argv);
  if (options.mode === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (options.mode === 'simulate') {
    const config = options.configPath === undefined ? DEFAULT_CLIENT_CONFIG : await loadConfig(options.configPath);
    const log = createRootLogger('guest-client', options.logLevel);
    const uuids = [...options.uuids, ...Array.from({ length: options.count }, () => randomUUID())];
    // Per-guest lines (state changes are info) only when asked for debug: thousands of guests share this log.
    const guestLog = options.logLevel === 'debug' || options.logLevel === 'trace' ? log : log.child({}, { level: 'warn' });
    const guests = await startSimulatedGuests(uuids, { dir: options.dir, config, log: guestLog });
    log.info({ dir: options.dir, guests: guests.length, uuids: uuids.length <= 100 ? uuids : undefined }, 'simulated guests listening');
    onStopSignal(log, async () => {
      await Promise.all(guests.map((g) => g.close()));
    });
    return;
  }
  const config = await loadConfig(options.configPath ?? DEFAULT_CONFIG_PATH);
  const log = createRootLogger('guest-client', options.logLevel);
  await runClient(config, options, options.name ?? hostname(), log);
}

async function runClient(config: ClientConfig, options: Extract<CliOptions, { mode: 'client' }>, name: string, log: Logger): Promise<void> {
  const { device, pidfile, appSocket } = options;
  log.info({ name, device, appSocket, config }, 'guest-client starting');
  const random = new GlibcRandom();
  let channel: Channel | undefined;
  // client §8: one rand() stream for init ids, app challenges and app invocation ids, as in the original.
  const apps = appSocket === undefined ? undefined : new AppApiServer({ path: appSocket, clock: systemClock, log, nextRandom: () => random.next() });
  const session = new ClientSession({
    policy: {
      name, config,
      hasHealthCheck: config.healthCheckScript !== '' && config.healthCheckIntervalSecs > 0,
      hasEventHandler: config.eventNotificationScript !== '',
      nextInvocationId: () => random.next(),
    },
    clock: systemClock,
    log,
    channel: { send: (message) => channel?.write(encodeMessage(message)) },
    ...(config.healthCheckScript === '' ? {} : { healthCheck: healthScriptPort(config.healthCheckScript, systemClock, log, config.healthCheckIntervalSecs * 1000) }),
    ...(config.eventNotificationScript === '' ? {} : { eventHandler: eventScriptPort(config.eventNotificationScript, systemClock, log) }),
    ...(apps === undefined ? {} : { apps }),
  });
  try {
    channel = await openChannel(device, {
      onData: (chunk) => session.receive(chunk),
      onUp: () => session.channelUp(),
      onDown: () => session.channelDown(),
    }, systemClock, log);
  } catch (err) {
    if (err instanceof GuestClientError && err.code === 'GC_ERR_DEVICE_MISSING') {
      log.info({ device }, 'guest heartbeat not configured');
      process.exitCode = DEVICE_MISSING_EXIT_CODE;                      // client §2: exit 6, no restart
      return;
    }
    throw err;
  }
  if (apps !== undefined) {
    try {
      await apps.start();
    } catch (err) {
      // The host heartbeat matters more than the apps: carry on without them, loudly.
      log.error({ err, code: 'GC_ERR_APP_API_FAILED', path: appSocket }, 'application API unavailable; continuing without in-guest applications');
    }
  }
  if (pidfile !== undefined) await writePidfile(pidfile);
  session.start();
  // The session's timers are unref'd; this keeps the process alive until a stop signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  onStopSignal(log, async () => {
    clearInterval(keepAlive);
    session.shutdown();                                                 // `exit` goes out if enabled
    await apps?.close();                                                // removes the socket file (the original left it)
    await channel?.close();
    if (pidfile !== undefined) await removePidfile(pidfile);
  });
  process.on('SIGHUP', () => log.info('SIGHUP ignored: the configuration is read once at start (client §12)'));
}

async function loadConfig(path: string): Promise<ClientConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // The original slept 20 s and exited 1 (client §11); we fail at once with exit code 2.
    throw new ConfigError(path, `cannot read configuration (GC_ERR_CONFIG_MISSING): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseClientConfig(text, path);
}

/** SIGTERM, SIGINT, SIGQUIT: graceful stop once (client §12); a second signal exits at once. */
function onStopSignal(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutdown requested');
    const deadline = setTimeout(() => process.exit(1), 5000);
    deadline.unref();
    stop().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, handler);
}
