/**
 * @guesthb/daemon-kit: small runtime helpers shared by guest-server, guest-agent and guest-client.
 * No domain words here (STYLE.md R1).
 */
export { MAX_TIMER_DELAY_MS, systemClock, systemRandom, wallClockMs } from './clock.js';
export { CONFIG_EXIT_CODE, ConfigError, configErrorFromZod, iniKeyName } from './config-error.js';
export { parseIni, type IniDocument } from './ini.js';
export { iniBool, iniInt, iniString, iniUrl, LOG_LEVELS, type LogLevel } from './ini-values.js';
export { removePidfile, writePidfile } from './pidfile.js';
export { installCrashHandlers, installReload, installShutdown, type ShutdownOptions } from './shutdown.js';
export { runMain } from './run-main.js';
export { createRootLogger, stdoutDestination } from './logger.js';
export {
  GuestIniDebugSection, GuestIniTimeoutsSection, iniSchemaError, logLevelFromDebug, type GuestIniDebug,
} from './guest-ini.js';
export { readTokenFile, type TokenFileResult } from './token-file.js';
export { bearerMatches } from './bearer-auth.js';
export { LogRateLimiter, TokenBucket, type LogDecision, type LogRateLimitOptions } from './rate-limit.js';
export { DEFAULT_HTTP_LIMITS, applyHttpLimits, connectionCap, descriptorLimits, type ApplyHttpLimitsOptions, type ConnectionRefusal, type HttpLimits } from './http-limits.js';
export { TokenRing, checkPeerAuth, isLoopbackAddress, type PeerAuthCheck } from './peer-auth.js';
