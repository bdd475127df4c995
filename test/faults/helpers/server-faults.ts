/**
 * Helpers of the guest-server fault trials (issue 12 item 9): the fault Stack's server started with a
 * state_dir under the stack's dir, kept across restarts (what a compute host's /var/lib/guest-server is),
 * and a short init deadline so a guest hung across a restart is reported within the trial.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Daemon, SERVER_BIN } from '../../helpers/daemon.js';
import { HOSTNAME, type Stack } from './stack.js';

export interface ServerStateOptions {
  /** [client] init_deadline_secs (default 3). */
  readonly initDeadlineSecs?: number;
}

/** Starts (or restarts) the stack's guest-server with its state directory `<stack>/server-state`. */
export async function startServerWithState(stack: Stack, options: ServerStateOptions = {}): Promise<Daemon> {
  const stateDir = join(stack.dir, 'server-state');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const config = join(stack.dir, 'server-state.ini');
  await writeFile(config, '[client]\nbind_address = 127.0.0.1\nhbs_failure_threshold = 1\nhbs_pulse_period = 100\n'
    + `advertise_url = ${stack.serverUrl}\nsearch_audit_secs = 5\ninit_deadline_secs = ${options.initDeadlineSecs ?? 3}\n`);
  const args = ['--config', config, '--state-dir', stateDir, '--channel-dir', stack.channelDir, '--agent-url', stack.agentUrl, '--port', String(stack.ports.server), '--hostname', HOSTNAME, '--log-level', 'info'];
  stack.server = new Daemon('guest-server', SERVER_BIN, args, `${stack.serverUrl}/healthz`);
  await stack.server.waitHealthy();
  return stack.server;
}
