/** The composition root of guest-agent (STYLE.md R14): config → logger → components → signals. */
import { Agent } from 'undici';
import {
  createRootLogger, installCrashHandlers, installReload, installShutdown, removePidfile, systemClock, systemRandom, writePidfile,
} from '@guesthb/daemon-kit';
import { loadAgentConfig, parseAgentArgs, readToken } from './config.js';
import { createGuestAgent } from './guest-agent.js';

/** Deadline of a graceful stop (SM's stop timeout is 10 s: daemons §7.7). */
const SHUTDOWN_TIMEOUT_MS = 8_000;

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const args = parseAgentArgs(argv);
  const config = await loadAgentConfig(args);
  const token = await readToken(config.tokenFile);
  const log = createRootLogger('guest-agent', config.logLevel);
  const dispatcher = new Agent({ connections: 64 });
  const agent = createGuestAgent({ config, log, clock: systemClock, random: systemRandom, token, dispatcher });
  const close = async (): Promise<void> => {
    await agent.close();
    await dispatcher.destroy();
    if (config.pidfile !== undefined) await removePidfile(config.pidfile);
  };
  installShutdown({ log, close, timeoutMs: SHUTDOWN_TIMEOUT_MS });
  installCrashHandlers({ log, close, timeoutMs: SHUTDOWN_TIMEOUT_MS });
  installReload(log, async () => {
    const next = await loadAgentConfig(args);
    agent.reload(next, await readToken(next.tokenFile));
  });
  const addresses = await agent.start();
  if (config.pidfile !== undefined) await writePidfile(config.pidfile);
  log.info({ rx: addresses.rx, vim: addresses.vim, vimEventUrl: config.vimEventUrl, auditPeriodMs: config.auditPeriodMs }, 'guest-agent ready');
}
