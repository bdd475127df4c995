/** @guesthb/guestctl: the operator CLI of the guest heartbeat service. See README.md. */
export { runGuestctl, packageVersion, type GuestctlIo } from './main.js';
export { parseGuestctlArgs, USAGE, DEFAULT_AGENT_URL, DEFAULT_VIM_URL, OUTPUT_FORMATS, type GuestctlArgs, type Command, type OutputFormat } from './cli-args.js';
export { createAgentClient, type AgentClient, type AgentClientOptions } from './agent-client.js';
export { runCommand, type Output } from './commands.js';
export { formatRows, formatRecord, type Row, type Cell } from './format.js';
export { ExitCode, GuestctlError } from './errors.js';
