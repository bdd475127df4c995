/**
 * guest-agent configuration: guest.ini (daemons §7.1) plus the command line. Parsed once, frozen, passed
 * down as slices (STYLE.md R12). Any unknown section, unknown key or bad value is a ConfigError naming it
 * (exit code 2 through runMain).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  ConfigError, GuestIniDebugSection, GuestIniTimeoutsSection, iniBool, iniInt, iniSchemaError, iniString, iniUrl, LOG_LEVELS,
  logLevelFromDebug, parseIni, readTokenFile, type LogLevel,
} from '@guesthb/daemon-kit';
import { AGENT_RX_PORT, AGENT_VIM_CMD_PORT, AUDIT_PERIOD_SECS, VIM_EVENT_PORT } from '@guesthb/protocol';

const Port = iniInt(0, 65535);
const Threshold = iniInt(0, 1_000_000);

/** [agent]: the original keys plus the new ones of issue 4. */
const AgentSection = z.strictObject({
  rx_port: Port.optional(),
  vim_cmd_port: Port.optional(),
  /** Dead in the original (daemons §9 item 29): accepted and ignored. */
  hbs_failure_threshold: Threshold.optional(),
  vim_cmd_host: iniString().optional(),
  rx_host: iniString().optional(),
  vim_event_url: iniUrl().optional(),
  audit_period_secs: iniInt(1, 3600).optional(),
  token_file: iniString().optional(),
  /** Listen beyond loopback without a token (issue 11 item 2): an explicit, logged opt-out. */
  allow_unauthenticated: iniBool().optional(),
  /** After a reload that changed the token file, the previous tokens stay accepted this long. */
  token_rotation_window_secs: iniInt(0, 86_400).optional(),
  /** Issue 12: where the agent journals what it must not lose (alarms not yet at the VIM, votes, tombstones). */
  state_dir: iniString().optional(),
  /** Issue 12: how long a deleted instance's tombstone stops late server events (default 3600). */
  tombstone_ttl_secs: iniInt(1, 7 * 86_400).optional(),
});

/** guest.ini is shared with guest-server: [client] belongs to it and is not read here. */
const IniSchema = z.strictObject({
  agent: AgentSection.optional(),
  client: z.record(z.string(), z.string()).optional(),
  timeouts: GuestIniTimeoutsSection.optional(),
  debug: GuestIniDebugSection.optional(),
});

export interface AgentConfig {
  readonly configPath: string;
  /** Listener for guest-servers, /healthz and /metrics ([agent] rx_port, --port). */
  readonly rxHost: string;
  readonly rxPort: number;
  /** The VIM's command receiver ([agent] vim_cmd_host / vim_cmd_port). */
  readonly vimCmdHost: string;
  readonly vimCmdPort: number;
  /** Base URL of the VIM's event listener ([agent] vim_event_url). */
  readonly vimEventUrl: string;
  readonly auditPeriodMs: number;
  /** File holding the peer API bearer token; undefined = no token. */
  readonly tokenFile: string | undefined;
  readonly allowUnauthenticated: boolean;
  readonly tokenRotationWindowMs: number;
  /** [agent] state_dir: the journal's directory (created 0700); undefined = nothing survives a restart. */
  readonly stateDir: string | undefined;
  readonly tombstoneTtlMs: number;
  readonly pidfile: string | undefined;
  readonly logLevel: LogLevel;
}

/** The one config file both daemons read (it ships as /etc/mtc/guest.ini). */
export const DEFAULT_CONFIG_PATH = '/etc/mtc/guest.ini';
export const DEFAULT_VIM_EVENT_URL = `http://127.0.0.1:${VIM_EVENT_PORT}`;

/** Parses INI text and overrides into the frozen config. Throws ConfigError naming the key. */
export function parseAgentConfig(iniText: string, configPath: string, overrides: CliOverrides = {}): AgentConfig {
  const result = IniSchema.safeParse(parseIni(iniText, configPath));
  if (!result.success) throw iniSchemaError(result.error);
  const agent = result.data.agent ?? {};
  return Object.freeze({
    configPath,
    rxHost: agent.rx_host ?? '0.0.0.0',
    rxPort: overrides.port ?? agent.rx_port ?? AGENT_RX_PORT,
    vimCmdHost: agent.vim_cmd_host ?? '127.0.0.1',
    vimCmdPort: overrides.vimCmdPort ?? agent.vim_cmd_port ?? AGENT_VIM_CMD_PORT,
    vimEventUrl: (overrides.vimEventUrl ?? agent.vim_event_url ?? DEFAULT_VIM_EVENT_URL).replace(/\/+$/, ''),
    auditPeriodMs: (agent.audit_period_secs ?? AUDIT_PERIOD_SECS) * 1000,
    // Relative to the config file's directory (the shipped guest.ini names `guest.token`).
    tokenFile: agent.token_file === undefined ? undefined : resolvePath(dirname(configPath), agent.token_file),
    allowUnauthenticated: agent.allow_unauthenticated ?? false,
    tokenRotationWindowMs: (agent.token_rotation_window_secs ?? 600) * 1000,
    stateDir: agent.state_dir,
    tombstoneTtlMs: (agent.tombstone_ttl_secs ?? 3600) * 1000,
    pidfile: overrides.pidfile,
    logLevel: overrides.logLevel ?? logLevelFromDebug(result.data.debug) ?? 'info',
  });
}

export interface CliOverrides {
  readonly port?: number;
  readonly vimCmdPort?: number;
  readonly vimEventUrl?: string;
  readonly pidfile?: string;
  readonly logLevel?: LogLevel;
}

export interface CliArgs {
  readonly configPath: string;
  readonly overrides: CliOverrides;
}

/** The synopsis printed by --help. */
export const USAGE = 'usage: guest-agent --config FILE [--port N] [--vim-cmd-port N] [--vim-event-url URL] [--pidfile FILE] [--log-level L]';

/** `guest-agent --config FILE [--port N] [--vim-cmd-port N] [--vim-event-url URL] [--pidfile FILE] [--log-level L]`. */
export function parseAgentArgs(argv: readonly string[]): CliArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        'vim-cmd-port': { type: 'string' },
        'vim-event-url': { type: 'string' },
        pidfile: { type: 'string' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'command line';
    throw new ConfigError(flag, message, { cause: err });
  }
  const overrides: { -readonly [K in keyof CliOverrides]: CliOverrides[K] } = {};
  const port = cliValue(values, 'port', Port);
  if (port !== undefined) overrides.port = port;
  const vimCmdPort = cliValue(values, 'vim-cmd-port', Port);
  if (vimCmdPort !== undefined) overrides.vimCmdPort = vimCmdPort;
  const url = cliValue(values, 'vim-event-url', iniUrl());
  if (url !== undefined) overrides.vimEventUrl = url;
  const pidfile = cliValue(values, 'pidfile', iniString());
  if (pidfile !== undefined) overrides.pidfile = pidfile;
  const level = cliValue(values, 'log-level', z.enum(LOG_LEVELS));
  if (level !== undefined) overrides.logLevel = level;
  const configPath = cliValue(values, 'config', iniString()) ?? DEFAULT_CONFIG_PATH;
  return { configPath, overrides };
}

function cliValue<T>(values: Record<string, string | boolean | undefined>, flag: string, schema: z.ZodType<T, string>): T | undefined {
  const raw = values[flag];
  if (raw === undefined || typeof raw === 'boolean') return undefined;
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`--${flag}`, result.error.issues[0]?.message ?? 'invalid');
  return result.data;
}

/** Reads the config file named on the command line; a missing file is a ConfigError on --config. */
export async function loadAgentConfig(args: CliArgs): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(args.configPath, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${args.configPath}: ${(err as Error).message}`, { cause: err });
  }
  return parseAgentConfig(text, args.configPath, args.overrides);
}

/** Reads the bearer token (first line, trimmed); an unreadable or empty file is an error on [agent] token_file. */
export async function readToken(tokenFile: string | undefined): Promise<string | undefined> {
  return (await readTokens(tokenFile))?.[0];
}

/** Every token of the file (the first is sent; all are accepted), or undefined without a file. */
export async function readTokens(tokenFile: string | undefined): Promise<readonly string[] | undefined> {
  if (tokenFile === undefined) return undefined;
  const result = await readTokenFile(tokenFile);
  if (!result.ok) throw new ConfigError('[agent] token_file', result.reason, { cause: result.cause });
  return result.tokens;
}
