/**
 * The command line and config file, turned into one frozen AwdConfig (STYLE.md R12). Chardevs are
 * resolved first and watchdog objects after them, as QEMU's delayed creation does (awd spec §1), so an
 * object may name a chardev declared later on the line. Error texts follow the patch (awd spec §1).
 */
import { AwdError, AwdErrorCode } from './errors.js';
import { parseQemuBool, parseQemuOpts, type QemuOpts } from './qemu-opts.js';
import { parseScript, ScriptSyntaxError, type ParsedScript } from './script.js';

export type NodeAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** A socket chardev: listening (server) or connecting, with QEMU's reconnect seconds (0 = unset). */
export interface ChardevSpec {
  readonly id: string;
  readonly address: NodeAddress;
  readonly server: boolean;
  readonly reconnectS: number;
}

export const INPUT_MODES = ['any', 'frame', 'watchdog1'] as const;
export type InputMode = (typeof INPUT_MODES)[number];
export const NOTIFY_MODES = ['auto', 'raw', 'hmp', 'qmp'] as const;
export type NotifyMode = (typeof NOTIFY_MODES)[number];

export interface WatchdogSpec {
  readonly id: string;
  /** The patch's `server` property: off = answer every received frame with a reply pulse. */
  readonly server: boolean;
  readonly awdNode: ChardevSpec;
  readonly notificationNode: ChardevSpec;
  readonly scriptPath: string;
  /** The script, read and parsed once at start (and on SIGHUP), never at firing time (issue 13). */
  readonly script: ParsedScript;
  /** Largest opt_script accepted, in bytes. */
  readonly maxScriptBytes: number;
  /** A timer this late (ms) means awd itself was stalled (README "Timer rules"). */
  readonly stallThresholdMs: number;
  readonly pulseIntervalMs: number;
  readonly timeoutMs: number;
  readonly input: InputMode;
  readonly notify: NotifyMode;
  /** Arm the timeout at start, not only at the first input. */
  readonly armAtStart: boolean;
  /** Attempts after the first failed one. */
  readonly notifyRetries: number;
  /** Delay before the first retry; doubles up to 30 s. */
  readonly notifyRetryMs: number;
  /** Bound on one attempt waiting for the monitor (greeting, prompt, reply). */
  readonly notifyTimeoutMs: number;
}

export interface AwdConfig {
  readonly watchdogs: readonly WatchdogSpec[];
  readonly http?: { readonly host: string; readonly port: number };
  readonly eventLogPath?: string;
  readonly logLevel: string;
}

/** Options as given: repeated QEMU option strings plus awd's own switches. */
export interface RawOptions {
  chardevs: string[];
  objects: string[];
  http?: string;
  eventLog?: string;
  logLevel?: string;
  configFiles: string[];
}

export const DEFAULT_PULSE_INTERVAL_MS = 5000;
export const DEFAULT_TIMEOUT_MS = 2000;
/** Default `max_script_bytes`: 1 MiB. */
export const DEFAULT_MAX_SCRIPT_BYTES = 1024 * 1024;
/** Highest `max_script_bytes` accepted: 64 MiB. */
export const MAX_SCRIPT_BYTES_LIMIT = 64 * 1024 * 1024;
/** Default `stall_threshold_ms`. */
export const DEFAULT_STALL_THRESHOLD_MS = 500;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SWITCHES = ['chardev', 'object', 'http', 'event-log', 'log-level', 'config'];
const REQUIRED_KEYS = ['awd_node', 'notification_node', 'opt_script', 'iothread'] as const;
const WATCHDOG_KEYS = new Set([
  'id', 'server', 'awd_node', 'notification_node', 'opt_script', 'iothread', 'pulse_interval', 'timeout',
  'input', 'notify', 'arm_at_start', 'notify_retries', 'notify_retry_ms', 'notify_timeout_ms',
  'max_script_bytes', 'stall_threshold_ms',
]);
const CHARDEV_KEYS = new Set(['id', 'host', 'port', 'path', 'server', 'wait', 'reconnect', 'nodelay', 'ipv4', 'ipv6']);

/** Parses argv (QEMU style `-chardev X` / `--chardev X` / `--chardev=X`); `--config FILE` may repeat. */
export function parseArgs(argv: readonly string[]): RawOptions {
  const raw: RawOptions = { chardevs: [], objects: [], configFiles: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || !SWITCHES.includes(m[1] ?? '')) throw new AwdError(AwdErrorCode.USAGE, `unknown argument '${arg}'`);
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new AwdError(AwdErrorCode.USAGE, `option '${arg}' needs a value`);
    }
    applySwitch(raw, m[1] ?? '', value);
  }
  return raw;
}

/**
 * Config file: one switch per line, `chardev socket,id=…` (leading dashes optional, `=` or a space
 * between switch and value), `#` comments and blank lines ignored. Values are the CLI's.
 */
export function parseConfigFile(text: string, into: RawOptions, fileName: string): void {
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^-{0,2}([a-z-]+)\s*(?:=|\s)\s*(.+)$/.exec(trimmed);
    if (m === null || !SWITCHES.includes(m[1] ?? '') || m[1] === 'config') {
      throw new AwdError(AwdErrorCode.USAGE, `${fileName}:${index + 1}: expected '<chardev|object|http|event-log|log-level> VALUE'`);
    }
    applySwitch(into, m[1] ?? '', (m[2] ?? '').trim());
  });
}

function applySwitch(raw: RawOptions, name: string, value: string): void {
  if (name === 'chardev') raw.chardevs.push(value);
  else if (name === 'object') raw.objects.push(value);
  else if (name === 'http') raw.http = value;
  else if (name === 'event-log') raw.eventLog = value;
  else if (name === 'log-level') raw.logLevel = value;
  else raw.configFiles.push(value);
}

/**
 * Reads a script file: its text, or throws. Reading more than `maxBytes` is pointless (the script is
 * refused then), so a reader may stop after `maxBytes + 1` bytes.
 */
export type ScriptReader = (path: string, maxBytes: number) => string;

/** Builds the config; `readScript` returns the file's text or throws (injected: no fs here). */
export function buildConfig(raw: RawOptions, readScript: ScriptReader): AwdConfig {
  const chardevs = new Map<string, ChardevSpec | { readonly id: string; readonly notSocket: true }>();
  for (const text of raw.chardevs) {
    const spec = parseChardev(parseQemuOpts(text));
    if (chardevs.has(spec.id)) throw new AwdError(AwdErrorCode.USAGE, `duplicate ID '${spec.id}' for chardev`);
    chardevs.set(spec.id, spec);
  }
  const used = new Set<string>();
  const watchdogs: WatchdogSpec[] = [];
  for (const text of raw.objects) {
    const opts = parseQemuOpts(text);
    if (opts.type === 'iothread') continue; // accepted and ignored: awd has no iothreads (README)
    if (opts.type !== 'advanced-watchdog') throw new AwdError(AwdErrorCode.USAGE, `invalid object type: ${opts.type}`);
    const wd = parseWatchdog(opts, chardevs, used, readScript);
    if (watchdogs.some((w) => w.id === wd.id)) throw new AwdError(AwdErrorCode.USAGE, `duplicate ID '${wd.id}' for object`);
    watchdogs.push(wd);
  }
  if (watchdogs.length === 0) throw new AwdError(AwdErrorCode.USAGE, 'no -object advanced-watchdog given');
  const logLevel = raw.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new AwdError(AwdErrorCode.USAGE, `log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return Object.freeze({
    watchdogs: Object.freeze(watchdogs),
    logLevel,
    ...(raw.http === undefined ? {} : { http: parseHttp(raw.http) }),
    ...(raw.eventLog === undefined ? {} : { eventLogPath: raw.eventLog }),
  });
}

function parseChardev(opts: QemuOpts): ChardevSpec | { readonly id: string; readonly notSocket: true } {
  const p = opts.props;
  const id = p.get('id');
  if (id === undefined || id === '') throw new AwdError(AwdErrorCode.USAGE, "chardev: Parameter 'id' is missing");
  // Other backends are declared fine but rejected when a watchdog uses them, as in QEMU.
  if (opts.type !== 'socket') return { id, notSocket: true };
  for (const key of p.keys()) {
    if (!CHARDEV_KEYS.has(key)) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': Invalid parameter '${key}'`);
  }
  const path = p.get('path');
  const port = p.get('port');
  let address: NodeAddress;
  if (path !== undefined) {
    if (port !== undefined || p.has('host')) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': give either path or host/port`);
    if (Buffer.byteLength(path) > 107) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': UNIX socket path '${path}' is too long`);
    address = { kind: 'unix', path };
  } else {
    if (port === undefined) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': 'port' or 'path' is required`);
    const portNumber = toUint(`port`, port);
    if (portNumber > 65535) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': port ${port} out of range`);
    const host = p.get('host') ?? '';
    const listens = parseQemuBool('server', p.get('server') ?? 'off');
    address = { kind: 'tcp', host: host === '' ? (listens ? '0.0.0.0' : '127.0.0.1') : host, port: portNumber };
  }
  const server = parseQemuBool('server', p.get('server') ?? 'off');
  if (p.has('wait')) parseQemuBool('wait', p.get('wait') ?? '');
  const reconnectS = toUint('reconnect', p.get('reconnect') ?? '0');
  if (server && reconnectS > 0) throw new AwdError(AwdErrorCode.USAGE, `chardev '${id}': 'reconnect' option is incompatible with socket in server listen mode`);
  return { id, address, server, reconnectS };
}

function parseWatchdog(
  opts: QemuOpts,
  chardevs: ReadonlyMap<string, ChardevSpec | { readonly id: string; readonly notSocket: true }>,
  used: Set<string>,
  readScript: ScriptReader,
): WatchdogSpec {
  const p = opts.props;
  for (const key of p.keys()) {
    if (!WATCHDOG_KEYS.has(key)) throw new AwdError(AwdErrorCode.OBJECT_INVALID, `Property 'advanced-watchdog.${key}' not found`);
  }
  const id = p.get('id');
  if (id === undefined || id === '') throw new AwdError(AwdErrorCode.USAGE, "Parameter 'id' is missing");
  // The patch's message named 'server' (never checked) and not which one was missing (issue 13).
  const missing = REQUIRED_KEYS.filter((key) => (p.get(key) ?? '') === '');
  if (missing.length > 0) {
    throw new AwdError(
      AwdErrorCode.OBJECT_INVALID,
      `advanced-watchdog '${id}': missing ${missing.map((k) => `'${k}'`).join(', ')} (needs 'awd_node', 'notification_node', 'opt_script' and 'iothread')`,
    );
  }
  const awdId = p.get('awd_node') ?? '';
  const notifyId = p.get('notification_node') ?? '';
  const scriptPath = p.get('opt_script') ?? '';
  const awdNode = resolveChardev(awdId, chardevs, used);
  const notificationNode = resolveChardev(notifyId, chardevs, used);
  const notify = oneOf('notify', p.get('notify') ?? 'auto', NOTIFY_MODES);
  const maxScriptBytes = positiveOr('max_script_bytes', p.get('max_script_bytes'), DEFAULT_MAX_SCRIPT_BYTES);
  if (maxScriptBytes > MAX_SCRIPT_BYTES_LIMIT) {
    throw new AwdError(AwdErrorCode.OBJECT_INVALID, `Property 'advanced-watchdog.max_script_bytes' must be at most ${MAX_SCRIPT_BYTES_LIMIT}`);
  }
  const script = loadScript(scriptPath, maxScriptBytes, notify, readScript);
  return Object.freeze({
    id,
    server: parseQemuBool('server', p.get('server') ?? 'off'),
    awdNode,
    notificationNode,
    scriptPath,
    script,
    pulseIntervalMs: positiveOr('pulse_interval', p.get('pulse_interval'), DEFAULT_PULSE_INTERVAL_MS),
    timeoutMs: positiveOr('timeout', p.get('timeout'), DEFAULT_TIMEOUT_MS),
    input: oneOf('input', p.get('input') ?? 'any', INPUT_MODES),
    notify,
    maxScriptBytes,
    stallThresholdMs: positiveOr('stall_threshold_ms', p.get('stall_threshold_ms'), DEFAULT_STALL_THRESHOLD_MS),
    armAtStart: parseQemuBool('arm_at_start', p.get('arm_at_start') ?? 'off'),
    notifyRetries: toUint('notify_retries', p.get('notify_retries') ?? '3'),
    notifyRetryMs: positiveOr('notify_retry_ms', p.get('notify_retry_ms'), 1000),
    notifyTimeoutMs: positiveOr('notify_timeout_ms', p.get('notify_timeout_ms'), 5000),
  });
}

/** Reads and parses opt_script once; every failure is a configuration error naming the file (and line). */
function loadScript(path: string, maxBytes: number, notify: NotifyMode, readScript: ScriptReader): ParsedScript {
  let text: string;
  try {
    text = readScript(path, maxBytes);
  } catch (err) {
    throw new AwdError(AwdErrorCode.SCRIPT, `advanced-watchdog can't get opt script data: ${path}`, { cause: err });
  }
  if (text.trim() === '') throw new AwdError(AwdErrorCode.SCRIPT, `advanced-watchdog can't get opt script data: ${path}`);
  if (Buffer.byteLength(text) > maxBytes) {
    throw new AwdError(AwdErrorCode.SCRIPT, `opt_script ${path} is larger than max_script_bytes (${maxBytes} bytes)`);
  }
  try {
    // raw writes the bytes and hmp sends lines: only a script that may go to QMP must be valid QMP.
    return parseScript(text, notify === 'auto' || notify === 'qmp');
  } catch (err) {
    if (!(err instanceof ScriptSyntaxError)) throw err;
    throw new AwdError(AwdErrorCode.SCRIPT_SYNTAX, `opt_script ${path}:${err.line}: ${err.reason}`, { cause: err });
  }
}

function resolveChardev(
  id: string,
  chardevs: ReadonlyMap<string, ChardevSpec | { readonly id: string; readonly notSocket: true }>,
  used: Set<string>,
): ChardevSpec {
  const spec = chardevs.get(id);
  if (spec === undefined) throw new AwdError(AwdErrorCode.CHARDEV_NOT_FOUND, `Device '${id}' not found`);
  if ('notSocket' in spec) throw new AwdError(AwdErrorCode.CHARDEV_NOT_SOCKET, `chardev "${id}" is not reconnectable`);
  if (used.has(id)) throw new AwdError(AwdErrorCode.CHARDEV_IN_USE, `Device '${id}' is in use`);
  used.add(id);
  return spec;
}

/** The patch: unset (or absent) means the default; an explicit 0 is rejected (awd spec §1). */
function positiveOr(key: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = toUint(key, value);
  if (n === 0) throw new AwdError(AwdErrorCode.NOT_POSITIVE, `Property 'advanced-watchdog.${key}' requires a positive value`);
  return n;
}

function toUint(key: string, value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
    throw new AwdError(AwdErrorCode.USAGE, `Parameter '${key}' expects uint32, got '${value}'`);
  }
  return Number(value);
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new AwdError(AwdErrorCode.OBJECT_INVALID, `Property '${key}' must be one of ${allowed.join(', ')}`);
  return found;
}

function parseHttp(value: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new AwdError(AwdErrorCode.USAGE, `--http expects PORT or HOST:PORT, got '${value}'`);
  return { host: m[1] ?? '127.0.0.1', port };
}
