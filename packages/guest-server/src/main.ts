/**
 * The composition root (STYLE.md R14): command line → config → logger → server → pidfile → signals.
 * The only file that creates the real clock, random source, undici Agent and signal handlers.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { Agent } from 'undici';
import {
  ConfigError, checkPeerAuth, createRootLogger, installCrashHandlers, installReload, installShutdown, removePidfile,
  systemClock, systemRandom, wallClockMs, writePidfile,
} from '@guesthb/daemon-kit';
import { buildConfig, parseCliArgs, type CliOptions, type GuestServerConfig } from './config.js';
import { createGuestServer } from './guest-server.js';
import { openStateDir } from './state-dir.js';

/** Reads the config file named on the command line and builds the config. */
export async function loadConfig(cli: CliOptions): Promise<GuestServerConfig> {
  let iniText: string | undefined;
  if (cli.config !== undefined) {
    try {
      iniText = await readFile(cli.config, 'utf8');
    } catch (err) {
      throw new ConfigError('--config', `cannot read ${cli.config}: ${(err as Error).message}`, { cause: err });
    }
  }
  return buildConfig({ iniText, iniSource: cli.config ?? 'config', cli, osHostname: osHostname() });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const cli = parseCliArgs(argv);
  if (cli.config === undefined) throw new ConfigError('--config', 'required (guest-server --config FILE …)');
  const config = await loadConfig(cli);
  // Secure by default (issue 11 item 2): beyond loopback only with a token, or by an explicit opt-out.
  const unauthenticated = checkPeerAuth({
    host: config.bindAddress, hostKey: '[client] bind_address', tokenFile: config.tokenFile, tokenKey: '[client] token_file',
    allowUnauthenticated: config.allowUnauthenticated, optOutKey: '[client] allow_unauthenticated',
  });
  const log = createRootLogger('guest-server', config.logLevel);
  if (unauthenticated) log.warn({ bindAddress: config.bindAddress }, 'peer API UNAUTHENTICATED beyond loopback ([client] allow_unauthenticated = true): anyone who reaches the port can command this server');
  const journal = await openStateDir(config.stateDir, log);
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  const server = createGuestServer({
    config, log, clock: systemClock, random: systemRandom, wallClockMs, dispatcher, bootId: randomUUID(), store: journal,
  });
  server.metrics.registerState({ journal: () => journal.stats(), outbox: () => server.outboxStats() });
  const close = async (): Promise<void> => {
    await server.close();
    await journal.close();
    await dispatcher.close().catch(() => undefined);
    if (config.pidfile !== undefined) await removePidfile(config.pidfile);
  };
  installShutdown({ log, close, timeoutMs: config.shutdownTimeoutMs });
  installCrashHandlers({ log, close, timeoutMs: config.shutdownTimeoutMs });
  installReload(log, async () => server.reload(await loadConfig(cli)));
  await server.start();
  if (config.pidfile !== undefined) await writePidfile(config.pidfile);
}
