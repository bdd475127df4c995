/**
 * guest-server and guest-agent of the e2e test, with INI configs in a temp dir and loopback ports; the
 * process itself (bin paths, free ports, output kept in a log file for the failure message) is
 * test/helpers/daemon.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_BIN, Daemon, SERVER_BIN } from '../../helpers/daemon.js';

export interface ServerOptions {
  readonly dir: string;
  readonly channelDir: string;
  readonly agentUrl: string;
  readonly hostname: string;
  readonly port: number;
}

/** guest-server --config FILE --channel-dir DIR --agent-url URL --port N --hostname NAME. */
export async function startGuestServer(options: ServerOptions): Promise<Daemon> {
  const config = join(options.dir, 'guest-server.ini');
  await writeFile(config, [
    '[client]',
    `rx_port = ${options.port}`,
    'bind_address = 127.0.0.1',
    'hbs_failure_threshold = 1',
    'hbs_pulse_period = 400',
    `advertise_url = http://127.0.0.1:${options.port}`,
    'search_audit_secs = 180',
    '',
  ].join('\n'));
  const args = [
    '--config', config, '--channel-dir', options.channelDir, '--agent-url', options.agentUrl,
    '--port', String(options.port), '--hostname', options.hostname, '--log-level', 'info',
  ];
  return new Daemon('guest-server', SERVER_BIN, args, `http://127.0.0.1:${options.port}/healthz`, { logPath: join(options.dir, 'guest-server.log'), healthPollMs: 50 });
}

export interface AgentOptions {
  readonly dir: string;
  readonly port: number;
  readonly vimCmdPort: number;
  readonly vimEventUrl: string;
}

/** guest-agent --config FILE --port N --vim-cmd-port N --vim-event-url URL. */
export async function startGuestAgent(options: AgentOptions): Promise<Daemon> {
  const config = join(options.dir, 'guest-agent.ini');
  await writeFile(config, [
    '[agent]',
    `rx_port = ${options.port}`,
    `vim_cmd_port = ${options.vimCmdPort}`,
    'vim_cmd_host = 127.0.0.1',
    'rx_host = 127.0.0.1',
    'hbs_failure_threshold = 1',
    'audit_period_secs = 2',
    '',
  ].join('\n'));
  const args = [
    '--config', config, '--port', String(options.port), '--vim-cmd-port', String(options.vimCmdPort),
    '--vim-event-url', options.vimEventUrl, '--log-level', 'info',
  ];
  return new Daemon('guest-agent', AGENT_BIN, args, `http://127.0.0.1:${options.port}/healthz`, { logPath: join(options.dir, 'guest-agent.log'), healthPollMs: 50 });
}
