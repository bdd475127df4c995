/**
 * @guesthb/guest-server: the compute-host heartbeat daemon as a library, so cross-package tests can
 * start it in-process. The real program is dist/bin.js (`guest-server --config FILE …`).
 */
export { createGuestServer, GuestServer, type GuestServerDeps, VOTE_GRACE_MS, ILL_HEALTH_REPEAT_MS, MAX_INTERVAL_MS, AGENT_TIMEOUT_MS } from './guest-server.js';
export {
  buildConfig, parseCliArgs, DEFAULT_AGENT_URL, DEFAULT_MAX_INSTANCES, DEFAULT_OUTBOX_MAX_EVENTS,
  type CliOptions, type ConfigInput, type GuestServerConfig, type HeartbeatSettings,
} from './config.js';
export { loadConfig, main } from './main.js';
export { GuestServerError, GuestServerErrorCode } from './errors.js';
export { stepInstance, nextDeadline, type HeartbeatPolicy, type InstanceEvent } from './heartbeat-machine.js';
export { initialInstanceState, hbStateName, type InstanceState, type InstanceEffect, type Report } from './instance-state.js';
export { noticeTimeoutMs, expectsGuestGone } from './vote-rules.js';
export { connectUnixChannel, type ChannelConnector, type ChannelSocket, type ChannelHandlers } from './channel-connector.js';
export { ProcProbe, type VmmProbe, type ProcSample } from './vmm-probe.js';
export { classifyLoss, CLASSIFY_THRESHOLDS, type VmmSample, type Classification } from './loss-classifier.js';
export { CORROBORATE_MODES, type CorroborateMode } from './corroborator.js';
export { watchChannelDir, type WatchChannelDir, type ChannelDirEvents, type ChannelDirWatcher } from './channel-watcher.js';
