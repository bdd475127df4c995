/**
 * @guesthb/awd: the Advanced Watch Dog, a heartbeat watchdog over socket chardevs that drives a QEMU
 * monitor on silence. See README.md for options, input modes, notification, events and every
 * difference from the 2019 QEMU patch.
 */
export { Awd, type AwdDeps } from './awd.js';
export { benchFiring, type FiringBenchOptions, type FiringBenchResult } from './bench-firing.js';
export { afterPendingIo, systemClock } from './clock.js';
export * from './config.js';
export * from './errors.js';
export * from './events.js';
export { startHttpServer, stopHttpServer, httpPort, type HttpDeps } from './http-server.js';
export * from './input-decoder.js';
export { createMetrics, type AwdMetrics } from './metrics.js';
export { Notifier, type NotifierDeps, type NotifierPolicy, type NotifyConnection, type NotifyResult } from './notifier.js';
export { parseQemuOpts, parseQemuBool, type QemuOpts } from './qemu-opts.js';
export { hmpCommands, parseScript, qmpCommands, ScriptSyntaxError, type ParsedScript } from './script.js';
export { SocketNode, MAX_QUEUED_BYTES, type SocketNodeDeps } from './socket-node.js';
export { Watchdog, type PulsePort, type WatchdogDeps, type WatchdogMetrics } from './watchdog.js';
export * from './watchdog-machine.js';
export { loadConfig, main } from './main.js';
