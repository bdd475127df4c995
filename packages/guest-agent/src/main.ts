/** The composition root of guest-agent (STYLE.md R14): config → logger → components → signals. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { Journal } from '@guesthb/outbox';
import {
  ConfigError, checkPeerAuth, createRootLogger, isLoopbackAddress, installCrashHandlers, installReload, installShutdown, removePidfile, systemClock, systemRandom, wallClockMs, writePidfile,
} from '@guesthb/daemon-kit';
import { loadAgentConfig, parseAgentArgs, readTokens } from './config.js';
import { createGuestAgent } from './guest-agent.js';

/** Deadline of a graceful stop (SM's stop timeout is 10 s: daemons §7.7). */
const SHUTDOWN_TIMEOUT_MS = 8_000;

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const args = parseAgentArgs(argv);
  const config = await loadAgentConfig(args);
  // Secure by default (issue 11 item 2): beyond loopback only with a token, or by an explicit opt-out.
  const unauthenticated = checkPeerAuth({
    host: config.rxHost, hostKey: '[agent] rx_host', tokenFile: config.tokenFile, tokenKey: '[agent] token_file',
    allowUnauthenticated: config.allowUnauthenticated, optOutKey: '[agent] allow_unauthenticated',
  });
  // The VIM's eleven calls carry no token (byte-compatible with its plugin): their port stays on loopback.
  if (!isLoopbackAddress(config.vimCmdHost) && !config.allowUnauthenticated) {
    throw new ConfigError('[agent] vim_cmd_host', `must be a loopback address (the VIM's calls carry no token; it runs on this controller), not ${config.vimCmdHost}; or set [agent] allow_unauthenticated = true`);
  }
  const tokens = await readTokens(config.tokenFile);
  const token = tokens?.[0];
  const log = createRootLogger('guest-agent', config.logLevel);
  if (unauthenticated) log.warn({ rxHost: config.rxHost }, 'peer API UNAUTHENTICATED beyond loopback ([agent] allow_unauthenticated = true): anyone who reaches the port can post events');
  const dispatcher = new Agent({ connections: 64 });
  // [agent] state_dir (issue 12 item 4): the journal of alarms not yet at the VIM, votes and tombstones.
  let journal: Journal | undefined;
  if (config.stateDir !== undefined) {
    mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
    journal = await Journal.open({ path: join(config.stateDir, 'guest-agent.journal'), log: log.child({ component: 'journal' }) });
    const report = journal.openReport;
    const level = report.corrupt.length > 0 || report.tornTail !== undefined ? 'warn' : 'info';
    log[level]({ stateDir: config.stateDir, records: report.records, liveKeys: report.liveKeys, corrupt: report.corrupt.length, tornTail: report.tornTail !== undefined }, 'journal opened');
  } else {
    log.warn('no [agent] state_dir: alarms accepted while the VIM is unreachable do not survive a restart of the agent (the audit re-sends what servers still report)');
  }
  const agent = createGuestAgent({ config, log, clock: systemClock, wallClock: wallClockMs, random: systemRandom, token, tokens, dispatcher, ...(journal === undefined ? {} : { store: journal }) });
  const close = async (): Promise<void> => {
    await agent.close();
    await journal?.close();
    await dispatcher.destroy();
    if (config.pidfile !== undefined) await removePidfile(config.pidfile);
  };
  installShutdown({ log, close, timeoutMs: SHUTDOWN_TIMEOUT_MS });
  installCrashHandlers({ log, close, timeoutMs: SHUTDOWN_TIMEOUT_MS });
  installReload(log, async () => {
    const next = await loadAgentConfig(args);
    const nextTokens = await readTokens(next.tokenFile);
    agent.reload(next, nextTokens?.[0], nextTokens);
  });
  const addresses = await agent.start();
  if (config.pidfile !== undefined) await writePidfile(config.pidfile);
  log.info({ rx: addresses.rx, vim: addresses.vim, vimEventUrl: config.vimEventUrl, auditPeriodMs: config.auditPeriodMs }, 'guest-agent ready');
}
