/**
 * @guesthb/guest-client: the in-guest heartbeat client (wire-compatible with StarlingX guest-client 3.0.1)
 * and the guest simulator used by tests, the demo and benchmarks. See README.md.
 */
export {
  CONF_KEYS, DEFAULT_CLIENT_CONFIG, DEFAULT_CONFIG_PATH, INIT_CORRECTIVE_ACTIONS,
  challengeTimeoutMs, clientConfigFromPairs, parseClientConfig, readConfPairs,
  type ClientConfig, type InitCorrectiveAction,
} from './config.js';
export {
  RELEASE_DELAY_MS, SCHEDULING_DELAY_MS, initialClientModel, stepClient,
  type ClientEffect, type ClientEvent, type ClientMemory, type ClientModel, type ClientPolicy, type ClientState,
  type AppsSnapshot, type ClientStateKind, type ClientStep, type HealthOverride, type PendingAction, type TimerName,
} from './client-machine.js';
export {
  ACTION_TIMEOUT_LOG, CLIENT_LOG_CHARS, EXIT_LOG, SCRIPT_OUTPUT_BYTES, UNHEALTHY_REPEAT_SUPPRESS_MS,
  actionDeadlineMs, actionSeverity, cleanLogText, combineHealth, eventScriptResult, healthScriptResult, healthVerdict, mergeVote,
  type AppHealthReport, type HealthVerdict, type PartyResult, type UnhealthyReport,
} from './client-rules.js';
export {
  ClientSession,
  type AppHealthView, type AppsPort, type AppsView, type AppVoteRun, type ClientChannelPort, type ClientSessionDeps, type EventHandlerPort, type HealthCheckPort, type PortRun,
} from './client-session.js';
export { HostMessageReader, MAX_HOST_LINE_BYTES, readHostLine, type HostMessage, type ReadResult } from './host-message-reader.js';
export { runScript, scriptProblem, type ScriptOptions, type ScriptOutcome, type ScriptRun } from './script-runner.js';
export { eventScriptPort, healthScriptPort } from './script-ports.js';
export { openChannel, type Channel, type ChannelHandlers } from './channel.js';
export { GlibcRandom } from './glibc-rand.js';
export { DEVICE_MISSING_EXIT_CODE, GuestClientError, GuestClientErrorCode } from './errors.js';
export { MAX_SIMULATED_GUESTS, USAGE, parseCliArgs, type CliOptions } from './cli-args.js';
export {
  SimulatedGuest, createSimulatedGuest, startSimulatedGuests,
  type SimulatedFaults, type SimulatedGuestEvent, type SimulatedGuestOptions, type SimulatedGuestStats, type SimulatedVote,
} from './simulator.js';
export {
  APP_BAD_VERSION_SKIP_BYTES, APP_BODY_BYTES, APP_HEADER_BYTES, APP_LOG_BYTES, APP_MAGIC, APP_MAX_CARRY_BYTES, APP_MESSAGE_BYTES,
  APP_NAME_BYTES, APP_REVISION, APP_TO_DAEMON_KINDS, APP_VERSION, APP_VOTE_RESULTS, AppMessageDecoder, AppMessageType,
  DAEMON_TO_APP_KINDS, DEFAULT_APP_API_SOCKET, decodeAppBody, encodeAppMessage,
  type AppDecodeReason, type AppDecodeResult, type AppMessage, type AppMessageKind, type AppVoteResult,
} from './app-api-codec.js';
export {
  APP_ACCEPTED_CHALLENGES, APP_MIN_HEARTBEAT_INTERVAL_MS, INITIAL_APP_STATE, appTimeoutLog, appVoteDeadlineMs, stepApp,
  type AppEffect, type AppEvent, type AppPolicy, type AppRegistration, type AppState, type AppStep, type AppTimerName, type AppVote,
} from './app-api-machine.js';
export {
  APP_API_BACKLOG, AppApiServer, MAX_APP_CONNECTIONS, MAX_APP_PENDING_WRITE_BYTES,
  type AppApiServerDeps,
} from './app-api-server.js';
