/**
 * guest-server configuration: guest.ini (daemons §7.1) plus new [client] keys, then command-line
 * overrides. Parsed once at start-up (and again on SIGHUP), frozen, passed down in slices (STYLE.md R12).
 * An unknown section or key in a section we read, or a bad value, is a ConfigError naming it (exit code 2).
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  ConfigError, GuestIniDebugSection, iniBool, GuestIniTimeoutsSection, LOG_LEVELS, configErrorFromZod, iniInt,
  iniSchemaError, iniString, iniUrl, logLevelFromDebug, parseIni, type IniDocument, type LogLevel,
} from '@guesthb/daemon-kit';
import { CHANNEL_IO_MODES, type ChannelIoMode } from './channel-io.js';
import { CORROBORATE_MODES, type CorroborateMode } from './corroborator.js';
import { DEFAULT_CHANNEL_DIR, HBS_FAILURE_THRESHOLD, HBS_PULSE_PERIOD_MS, SEARCH_AUDIT_SECS, SERVER_RX_PORT } from '@guesthb/protocol';

/** The agent's URL when none is configured: the floating controller name on [agent] rx_port. */
export const DEFAULT_AGENT_URL = 'http://controller:2401';
/** How long the previous token stays accepted after a reload changed it (docs/operations.md "Token rotation"). */
export const DEFAULT_TOKEN_ROTATION_WINDOW_SECS = 600;
/** Default bound of the instance table (the original stopped at 100: daemons §9 item 25). */
export const DEFAULT_MAX_INSTANCES = 10_000;
/** [client] challenge_phases: 64 phases, i.e. one every 6.25 ms of a 400 ms interval (README "Challenge phases"). */
export const DEFAULT_CHALLENGE_PHASES = 64;
export const MAX_CHALLENGE_PHASES = 1024;
/** [client] challenge_phase_guests: a late wake-up of the server touches at most this many guests. */
export const DEFAULT_CHALLENGE_PHASE_GUESTS = 8;
/** [client] timer_lead_ms: the sessions' timers wake this early and sleep the rest (README "Timer lead"). */
export const DEFAULT_TIMER_LEAD_MS = 1;
export const MAX_TIMER_LEAD_MS = 5;
/** Default bound of the event outbox toward the agent. */
export const DEFAULT_OUTBOX_MAX_EVENTS = 10_000;
/** Where guest-server keeps what must survive a restart (issue 12): instance knowledge, unacknowledged events. */
export const DEFAULT_STATE_DIR = '/var/lib/guest-server';
/** Deadline of a graceful stop (systemd TimeoutStopSec is 10 s: daemons §7.9). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;

/** [client] keys: the original three, then ours. */
const ClientSection = z.strictObject({
  rx_port: iniInt(0, 65_535).optional(),
  hbs_failure_threshold: iniInt(0, 1_000).optional(),
  hbs_pulse_period: iniInt(10, 3_600_000).optional(),
  channel_dir: iniString().optional(),
  hostname: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/, 'expected a host name').optional(),
  agent_url: iniUrl().optional(),
  advertise_url: iniUrl().optional(),
  search_audit_secs: iniInt(1, 86_400).optional(),
  token_file: iniString().optional(),
  /** Listen beyond loopback without a token (issue 11 item 2): an explicit, logged opt-out. */
  allow_unauthenticated: iniBool().optional(),
  /** After a reload that changed the token file, the previous tokens stay accepted this long. */
  token_rotation_window_secs: iniInt(0, 86_400).optional(),
  bind_address: iniString().optional(),
  max_instances: iniInt(1, 1_000_000).optional(),
  outbox_max_events: iniInt(100, 10_000_000).optional(),
  state_dir: iniString().optional(),
  init_deadline_secs: iniInt(1, 86_400).optional(),
  corroborate: z.enum(CORROBORATE_MODES).optional(),
  corroborate_defer_ms: iniInt(1, 3_600_000).optional(),
  /** How channels are read and written (issue 17): pipe-handle (default) or stream (README "Channel I/O"). */
  channel_io: z.enum(CHANNEL_IO_MODES).optional(),
  /** Phases per interval the challenges are spread over (issue 17, README "Challenge phases"); 0 = off. */
  challenge_phases: iniInt(0, MAX_CHALLENGE_PHASES).refine((n) => (n & (n - 1)) === 0, 'expected 0 or a power of two').optional(),
  /** Instances placed on a phase before the next one is opened. */
  challenge_phase_guests: iniInt(1, 1_000_000).optional(),
  /** Sub-millisecond challenge timing (issue 17): wake this early, sleep the rest; 0 = Node's ms timers. */
  timer_lead_ms: iniInt(0, MAX_TIMER_LEAD_MS).optional(),
});
const IniSchema = z.strictObject({
  client: ClientSection.optional(),
  timeouts: GuestIniTimeoutsSection.optional(),
  debug: GuestIniDebugSection.optional(),
});

/** Sections that belong to the other daemon: not validated here (one shared guest.ini). */
const FOREIGN_SECTIONS = new Set(['agent']);

/** Command-line options (`--flag` names), all optional except --config. */
export interface CliOptions {
  readonly config?: string;
  readonly channelDir?: string;
  readonly agentUrl?: string;
  readonly port?: number;
  readonly hostname?: string;
  readonly pidfile?: string;
  readonly logLevel?: LogLevel;
  readonly stateDir?: string;
}

/** The frozen configuration every component receives slices of. */
export interface GuestServerConfig {
  readonly rxPort: number;
  readonly bindAddress: string;
  readonly hostname: string;
  readonly agentUrl: string;
  /** Where the agent reaches us; undefined = http://<hostname>:<bound port>. */
  readonly advertiseUrl: string | undefined;
  readonly channelDir: string;
  readonly searchAuditSecs: number;
  /** Resolved against the config file's directory when relative (the shipped `guest.token`). */
  readonly tokenFile: string | undefined;
  readonly allowUnauthenticated: boolean;
  readonly tokenRotationWindowMs: number;
  readonly maxInstances: number;
  readonly outboxMaxEvents: number;
  /** State directory (created 0700): the journal of instance knowledge and unacknowledged events. */
  readonly stateDir: string;
  /** Init deadline after a restart or reconnect; undefined = derived from the guest's timers (README). */
  readonly initDeadlineMs: number | undefined;
  readonly heartbeat: HeartbeatSettings;
  /** Host-side corroboration of losses (issue 16): off, report (default), defer-starved. Restart-only. */
  readonly corroborate: CorroborateMode;
  /** How long defer-starved holds a loss; undefined = one more detection window. */
  readonly corroborateDeferMs: number | undefined;
  /** Channel connector (issue 17): pipe-handle (default; stream when Node lacks the bindings) or stream. Restart-only. */
  readonly channelIo: ChannelIoMode;
  /** Phases per interval the instances' challenges are placed on; 0 = each keeps its init's moment (the original). Restart-only. */
  readonly challengePhases: number;
  /** Instances on a phase before the next is opened (README "Challenge phases"). Restart-only. */
  readonly challengePhaseGuests: number;
  /** How early the sessions' timers wake to sleep the rest up to their deadline; 0 = Node's ms timers. Restart-only. */
  readonly timerLeadMs: number;
  readonly logLevel: LogLevel;
  readonly pidfile: string | undefined;
  readonly shutdownTimeoutMs: number;
}

/** What SIGHUP may change at run time. */
export interface HeartbeatSettings {
  /** Misses tolerated; loss when misses > threshold (daemons §1.9). */
  readonly failureThreshold: number;
  /** Floor of a guest's heartbeat_interval_ms (daemons §1.6). */
  readonly pulsePeriodMs: number;
}

/** The one-line synopsis printed by --help and after a command-line error. */
export const USAGE = 'usage: guest-server --config FILE [--channel-dir DIR] [--agent-url URL] [--port N] [--hostname NAME] [--pidfile FILE] [--log-level L] [--state-dir DIR]';

/** Parses argv (without node and script). Throws ConfigError naming the flag. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'channel-dir': { type: 'string' },
        'agent-url': { type: 'string' },
        port: { type: 'string' },
        hostname: { type: 'string' },
        pidfile: { type: 'string' },
        'log-level': { type: 'string' },
        'state-dir': { type: 'string' },
      },
    });
  } catch (err) {
    throw new ConfigError('command line', `${(err as Error).message}\n${USAGE}`, { cause: err });
  }
  const v = parsed.values;
  const out: { -readonly [K in keyof CliOptions]: CliOptions[K] } = {};
  if (v.config !== undefined) out.config = v.config;
  if (v['channel-dir'] !== undefined) out.channelDir = cliValue('--channel-dir', iniString(), v['channel-dir']);
  if (v['agent-url'] !== undefined) out.agentUrl = cliValue('--agent-url', iniUrl(), v['agent-url']);
  if (v.port !== undefined) out.port = cliValue('--port', iniInt(0, 65_535), v.port);
  if (v.hostname !== undefined) out.hostname = cliValue('--hostname', ClientSection.shape.hostname.unwrap(), v.hostname);
  if (v.pidfile !== undefined) out.pidfile = cliValue('--pidfile', iniString(), v.pidfile);
  if (v['log-level'] !== undefined) out.logLevel = cliValue('--log-level', z.enum(LOG_LEVELS), v['log-level']);
  if (v['state-dir'] !== undefined) out.stateDir = cliValue('--state-dir', iniString(), v['state-dir']);
  return out;
}

function cliValue<T>(flag: string, schema: z.ZodType<T, string>, value: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw configErrorFromZod(result.error, () => flag);
  return result.data;
}

/** Inputs of buildConfig: the INI text (or undefined without --config), CLI overrides, the OS hostname. */
export interface ConfigInput {
  readonly iniText: string | undefined;
  readonly iniSource?: string;
  readonly cli: CliOptions;
  readonly osHostname: string;
}

/** Validates the INI document strictly and merges CLI overrides. Throws ConfigError naming the key. */
export function buildConfig(input: ConfigInput): GuestServerConfig {
  const doc: IniDocument = input.iniText === undefined ? {} : parseIni(input.iniText, input.iniSource);
  const own: Record<string, Record<string, string>> = {};
  for (const [section, keys] of Object.entries(doc)) {
    if (FOREIGN_SECTIONS.has(section)) continue;
    if (section === '') throw new ConfigError(Object.keys(keys)[0] ?? 'key', 'key outside any section');
    own[section] = keys;
  }
  const result = IniSchema.safeParse(own);
  if (!result.success) throw iniSchemaError(result.error);
  const client = result.data.client ?? {};
  const cli = input.cli;
  const hostname = cli.hostname ?? client.hostname ?? input.osHostname;
  const config: GuestServerConfig = {
    rxPort: cli.port ?? client.rx_port ?? SERVER_RX_PORT,
    bindAddress: client.bind_address ?? '0.0.0.0',
    hostname,
    agentUrl: stripSlash(cli.agentUrl ?? client.agent_url ?? DEFAULT_AGENT_URL),
    advertiseUrl: client.advertise_url === undefined ? undefined : stripSlash(client.advertise_url),
    channelDir: cli.channelDir ?? client.channel_dir ?? DEFAULT_CHANNEL_DIR,
    searchAuditSecs: client.search_audit_secs ?? SEARCH_AUDIT_SECS,
    tokenFile: client.token_file === undefined ? undefined : resolvePath(dirname(input.iniSource ?? '.'), client.token_file),
    allowUnauthenticated: client.allow_unauthenticated ?? false,
    tokenRotationWindowMs: (client.token_rotation_window_secs ?? DEFAULT_TOKEN_ROTATION_WINDOW_SECS) * 1000,
    maxInstances: client.max_instances ?? DEFAULT_MAX_INSTANCES,
    outboxMaxEvents: client.outbox_max_events ?? DEFAULT_OUTBOX_MAX_EVENTS,
    stateDir: cli.stateDir ?? client.state_dir ?? DEFAULT_STATE_DIR,
    initDeadlineMs: client.init_deadline_secs === undefined ? undefined : client.init_deadline_secs * 1_000,
    heartbeat: Object.freeze({
      failureThreshold: client.hbs_failure_threshold ?? HBS_FAILURE_THRESHOLD,
      pulsePeriodMs: client.hbs_pulse_period ?? HBS_PULSE_PERIOD_MS,
    }),
    corroborate: client.corroborate ?? 'report',
    corroborateDeferMs: client.corroborate_defer_ms,
    channelIo: client.channel_io ?? 'pipe-handle',
    challengePhases: client.challenge_phases ?? DEFAULT_CHALLENGE_PHASES,
    challengePhaseGuests: client.challenge_phase_guests ?? DEFAULT_CHALLENGE_PHASE_GUESTS,
    timerLeadMs: client.timer_lead_ms ?? DEFAULT_TIMER_LEAD_MS,
    logLevel: cli.logLevel ?? logLevelFromDebug(result.data.debug) ?? 'info',
    pidfile: cli.pidfile,
    shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
  };
  return Object.freeze(config);
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
