/**
 * guest_heartbeat.conf (client §11): `KEY=value` lines, `#` comments, surrounding quotes stripped.
 * Same keys, units and compiled defaults as the reference client; stricter validation (DESIGN.md §5):
 * a bad value or an unknown key is an error naming the key, where the original used atoi and logged.
 */
import { z } from 'zod';
import { ConfigError } from '@guesthb/daemon-kit';
import { HBS_PULSE_PERIOD_MS, INT32_MAX } from '@guesthb/protocol';

/** Where the packaged client reads its configuration (client §11, sysconfdir /etc). */
export const DEFAULT_CONFIG_PATH = '/etc/guest-client/heartbeat/guest_heartbeat.conf';

/** Corrective actions a guest may declare in init (client §11: only these three are accepted). */
export const INIT_CORRECTIVE_ACTIONS = ['reboot', 'stop', 'log'] as const;
export type InitCorrectiveAction = (typeof INIT_CORRECTIVE_ACTIONS)[number];

/** The parsed configuration, in the reference client's units (ms or s as each key says). */
export interface ClientConfig {
  /** HB_INIT_RETRY: ms between init attempts in `enabling`. */
  readonly initRetryMs: number;
  /** HB_MIN_TIMEOUT: ms, floor of the challenge timeout. */
  readonly minTimeoutMs: number;
  /** HB_INTERVAL: ms, sent as heartbeat_interval_ms; ≥ 400. */
  readonly heartbeatIntervalMs: number;
  /** VOTE, SHUTDOWN_NOTICE, SUSPEND_NOTICE, RESUME_NOTICE, RESTART: seconds, sent +1. */
  readonly voteSecs: number;
  readonly shutdownNoticeSecs: number;
  readonly suspendNoticeSecs: number;
  readonly resumeNoticeSecs: number;
  readonly restartSecs: number;
  /** CORRECTIVE_ACTION. */
  readonly correctiveAction: InitCorrectiveAction;
  /** HEALTH_CHECK_INTERVAL: seconds; 0 = off. */
  readonly healthCheckIntervalSecs: number;
  /** HEALTH_CHECK_SCRIPT: path, '' = none. */
  readonly healthCheckScript: string;
  /** EVENT_NOTIFICATION_SCRIPT: path, '' = none. */
  readonly eventNotificationScript: string;
}

/** The compiled-in defaults (client §11 "compiled default" column). */
export const DEFAULT_CLIENT_CONFIG: ClientConfig = {
  initRetryMs: 5000,
  minTimeoutMs: 5000,
  heartbeatIntervalMs: 1000,
  voteSecs: 10,
  shutdownNoticeSecs: 10,
  suspendNoticeSecs: 10,
  resumeNoticeSecs: 10,
  restartSecs: 120,
  correctiveAction: 'reboot',
  healthCheckIntervalSecs: 0,
  healthCheckScript: '',
  eventNotificationScript: '',
};

/** Conf key → field. */
export const CONF_KEYS = {
  HB_INIT_RETRY: 'initRetryMs',
  HB_MIN_TIMEOUT: 'minTimeoutMs',
  HB_INTERVAL: 'heartbeatIntervalMs',
  VOTE: 'voteSecs',
  SHUTDOWN_NOTICE: 'shutdownNoticeSecs',
  SUSPEND_NOTICE: 'suspendNoticeSecs',
  RESUME_NOTICE: 'resumeNoticeSecs',
  RESTART: 'restartSecs',
  CORRECTIVE_ACTION: 'correctiveAction',
  HEALTH_CHECK_INTERVAL: 'healthCheckIntervalSecs',
  HEALTH_CHECK_SCRIPT: 'healthCheckScript',
  EVENT_NOTIFICATION_SCRIPT: 'eventNotificationScript',
} as const satisfies Record<string, keyof ClientConfig>;
type ConfKey = keyof typeof CONF_KEYS;

const int = (min: number, max: number): z.ZodType<number, string> =>
  z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number)
    .pipe(z.number().int().min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`));
// *_secs go on the wire +1 and are read by the host as int32 (client §3, §4.1).
const secs = int(0, INT32_MAX - 1);

const ConfSchema = z.strictObject({
  HB_INIT_RETRY: int(100, 3_600_000).optional(),
  HB_MIN_TIMEOUT: int(0, 3_600_000).optional(),
  // client §6: "Minimum HB_INTERVAL is 400 ms. A smaller value is a fatal configuration error."
  HB_INTERVAL: int(HBS_PULSE_PERIOD_MS, 3_600_000).optional(),
  VOTE: secs.optional(),
  SHUTDOWN_NOTICE: secs.optional(),
  SUSPEND_NOTICE: secs.optional(),
  RESUME_NOTICE: secs.optional(),
  RESTART: secs.optional(),
  CORRECTIVE_ACTION: z.enum(INIT_CORRECTIVE_ACTIONS, { message: 'expected reboot, stop or log' }).optional(),
  HEALTH_CHECK_INTERVAL: int(0, 86_400).optional(),
  HEALTH_CHECK_SCRIPT: z.string().optional(),
  EVENT_NOTIFICATION_SCRIPT: z.string().optional(),
});

/** Splits conf text into raw key/value pairs, as the reference reader does (client §11 "Syntax"). */
export function readConfPairs(text: string, source = 'guest_heartbeat.conf'): Record<string, string> {
  const pairs: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}:${index + 1}`, `expected KEY=value, got ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, eq).trim();
    // The original splits at every '=' and keeps the second field; we keep the whole value (a difference
    // only for values containing '=', which no valid key has).
    pairs[key] = unquote(line.slice(eq + 1).trim());
  }
  return pairs;
}

function unquote(value: string): string {
  let v = value;
  if (v.startsWith('"') || v.startsWith("'")) v = v.slice(1);
  if (v.endsWith('"') || v.endsWith("'")) v = v.slice(0, -1);
  return v;
}

/** Parses guest_heartbeat.conf text into a ClientConfig; throws ConfigError naming the key. */
export function parseClientConfig(text: string, source = 'guest_heartbeat.conf'): ClientConfig {
  return clientConfigFromPairs(readConfPairs(text, source), source);
}

/** Validates raw pairs (from a file or the simulator's API) over the compiled defaults. */
export function clientConfigFromPairs(pairs: Record<string, string>, source = 'guest_heartbeat.conf'): ClientConfig {
  const result = ConfSchema.safeParse(pairs);
  if (!result.success) {
    const issue = result.error.issues[0];
    const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const key = unknownKey ?? String(issue?.path[0] ?? 'config');
    const detail = unknownKey === undefined ? (issue?.message ?? 'invalid') : 'unknown key';
    throw new ConfigError(`${source} ${key}`, detail, { cause: result.error });
  }
  const config: Record<string, unknown> = { ...DEFAULT_CLIENT_CONFIG };
  for (const [key, value] of Object.entries(result.data) as [ConfKey, unknown][]) {
    if (value !== undefined) config[CONF_KEYS[key]] = value;
  }
  return config as unknown as ClientConfig;
}

/** Challenge timeout of the reference client: max(2 × HB_INTERVAL, HB_MIN_TIMEOUT) (client §6). */
export function challengeTimeoutMs(config: ClientConfig): number {
  return Math.max(2 * config.heartbeatIntervalMs, config.minTimeoutMs);
}
