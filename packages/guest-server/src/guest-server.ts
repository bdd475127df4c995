/**
 * The guest-server as one object: it wires the instance table (instance-table.ts), channel discovery
 * (channel-discovery.ts), the outbox toward the agent and the command API from injected dependencies
 * (clock, random, connector, watcher, dispatcher) so tests run it in-process, and implements the command
 * port. main.ts builds the real ones (STYLE.md R14).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { MemoryStore, scopeStore, type KeyValueStore, type Outbox, type OutboxStats } from '@guesthb/outbox';
import {
  DeadlineTimers, HEARTBEAT_START_TIMEOUT_MS, INT32_MAX, drawChallenge,
  type ActionAccepted, type Clock, type Corroboration, type EventType, type InstanceInfo, type InstanceQueryReply, type PeerEvent,
} from '@guesthb/protocol';
import { TokenRing } from '@guesthb/daemon-kit';
import { createAgentClient } from './agent-client.js';
import { buildApi, type CommandPort } from './api.js';
import { ChannelDiscovery } from './channel-discovery.js';
import type { ChannelConnector } from './channel-connector.js';
import { selectChannelConnector } from './channel-io.js';
import { watchChannelDir as realWatchChannelDir, type WatchChannelDir } from './channel-watcher.js';
import type { GuestServerConfig } from './config.js';
import { GuestServerError } from './errors.js';
import type { HeartbeatPolicy } from './heartbeat-machine.js';
import { sessionHooks } from './corroboration-hooks.js';
import { Corroborator } from './corroborator.js';
import { buildInstanceInfo } from './instance-info.js';
import { InstanceLog } from './instance-log.js';
import { InstanceSession } from './instance-session.js';
import type { InstanceState, Report } from './instance-state.js';
import { InstanceTable, TOMBSTONE_MS } from './instance-table.js';
import { KnowledgeKeeper, OUTBOX_PREFIX } from './knowledge-keeper.js';
import { ServerMetrics } from './metrics.js';
import { createAgentOutbox, instanceLane, peerEventItem } from './outbox.js';
import { ProcProbe, type VmmProbe } from './vmm-probe.js';
import { readTokens } from './token-file.js';
import { serverHealth, type ServerHealthDetail } from './server-health.js';
import { ChallengePhases } from './challenge-phase.js';

export interface GuestServerDeps {
  readonly config: GuestServerConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  /** Wall-clock ms for event timestamps only. */
  readonly wallClockMs: () => number;
  readonly watchChannelDir?: WatchChannelDir;
  readonly connect?: ChannelConnector;
  /** undici dispatcher for the agent; one is created (and closed) when absent. */
  readonly dispatcher?: Dispatcher;
  /** Changes at each start; drawn from `random` when absent. */
  readonly bootId?: string;
  /**
   * What must survive a restart (issue 12 item 1): instance knowledge under `instance/`, host reporting
   * under `host`, unacknowledged events under `outbox/`. main.ts gives the state directory's journal;
   * absent = in memory (nothing survives: in-process tests).
   */
  readonly store?: KeyValueStore;
  /** Where corroboration reads QEMU processes (issue 16); the real /proc when absent. */
  readonly vmmProbe?: VmmProbe;
}

/** Timing constants of the rules (README "Decisions"). */
export const VOTE_GRACE_MS = 1_000;
export const ILL_HEALTH_REPEAT_MS = 60_000;
export const MAX_INTERVAL_MS = 3_600_000;
export const AGENT_TIMEOUT_MS = 5_000;
export const SHUTDOWN_DRAIN_MS = 2_000;

/** Config keys a SIGHUP does not change: they are bound to sockets, the watcher or the outbox at start. */
const RESTART_ONLY_KEYS = ['rxPort', 'bindAddress', 'hostname', 'agentUrl', 'advertiseUrl', 'channelDir', 'outboxMaxEvents', 'stateDir', 'corroborate', 'channelIo'] as const;

export class GuestServer implements CommandPort {
  readonly metrics: ServerMetrics;
  readonly bootId: string;
  readonly #deps: GuestServerDeps;
  #config: GuestServerConfig;
  readonly #log: Logger;
  readonly #instances: InstanceTable;
  readonly #discovery: ChannelDiscovery;
  readonly #outbox: Outbox<PeerEvent>;
  readonly #store: KeyValueStore;
  readonly #knowledge: KnowledgeKeeper;
  readonly #corroborator: Corroborator;
  /** Hands each instance the phase of its challenges at init; undefined = [client] challenge_phases = 0. */
  readonly #phases: ChallengePhases | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  /** deps.connect, or the one `[client] channel_io` selects (channel-io.ts). */
  readonly #connect: ChannelConnector;
  /** Every session's timer behind one clock timer (issue 17: a Node Timeout per arming was garbage). */
  readonly #timers: DeadlineTimers;
  #app: FastifyInstance | undefined;
  #policy: HeartbeatPolicy;
  #hostReporting = true;
  #token: string | undefined;
  /** Accepted tokens: the file's, plus the previous file's for the rotation window (issue 11 item 2). */
  readonly #tokens: TokenRing;
  /** When the agent last sent an authenticated command (any /v1 route, audits included). */
  #lastCommandAt: number | undefined;
  #url = '';
  #port = 0;
  #eventSeq = 0;
  #closing: Promise<void> | undefined;
  #started = false;
  /** What every session is given: shared functions, not four closures per session (issue 17 item 4). */
  readonly #sessionPolicy = (): HeartbeatPolicy => this.#policy;
  readonly #sessionReport = (s: InstanceSession, report: Report): void => this.#onReport(s, report);
  readonly #sessionGone = (s: InstanceSession): void => this.#instances.forgetIfOrphan(s);
  readonly #sessionStep = (s: InstanceSession, before: InstanceState): void => {
    this.#knowledge.onStep(s, before);
    this.#corroborator.stepped(s.uuid, s.state, before, s.channelPath);
  };

  constructor(deps: GuestServerDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#log = deps.log;
    this.#tokens = new TokenRing(deps.config.tokenRotationWindowMs);
    this.#timers = new DeadlineTimers(deps.clock, { leadMs: deps.config.timerLeadMs });
    if (deps.connect !== undefined) {
      this.#connect = deps.connect;
    } else {
      const io = selectChannelConnector(deps.config.channelIo);
      if (io.used !== deps.config.channelIo) deps.log.warn({ channelIo: deps.config.channelIo, used: io.used }, 'channel I/O: this Node lacks the pipe handle bindings; using net.Socket streams');
      this.#connect = io.connect;
    }
    this.bootId = deps.bootId ?? `${Math.floor(deps.random() * 2 ** 48).toString(16)}-${Math.floor(deps.wallClockMs()).toString(16)}`;
    this.#store = deps.store ?? new MemoryStore();
    this.#knowledge = new KnowledgeKeeper({ store: this.#store, log: deps.log, wallClockMs: deps.wallClockMs });
    this.#instances = new InstanceTable({
      clock: deps.clock,
      log: deps.log,
      maxInstances: () => this.#config.maxInstances,
      createSession: (uuid) => this.#createSession(uuid),
      onForget: (uuid) => {
        this.#knowledge.forget(uuid);
        this.#corroborator.forget(uuid);
      },
    });
    this.#discovery = new ChannelDiscovery({
      config: () => this.#config,
      clock: deps.clock,
      log: deps.log,
      instances: this.#instances,
      watchChannelDir: deps.watchChannelDir ?? realWatchChannelDir,
    });
    this.metrics = new ServerMetrics(() => this.#instances.countByState());
    this.#corroborator = new Corroborator({
      clock: deps.clock, log: deps.log.child({ component: 'corroborator' }), probe: deps.vmmProbe ?? new ProcProbe(), registry: this.metrics.registry,
      mode: () => this.#config.corroborate, deferMs: () => this.#config.corroborateDeferMs, tickMs: () => this.#config.heartbeat.pulsePeriodMs,
      failureThreshold: () => this.#config.heartbeat.failureThreshold, intervalOf: (uuid) => this.#challengedInterval(uuid),
      atRisk: (uuid) => this.#atRisk(uuid),
    });
    this.metrics.registerHealth(() => this.#healthDetail());
    this.#ownsDispatcher = deps.dispatcher === undefined;
    this.#dispatcher = deps.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 4 });
    this.#outbox = createAgentOutbox({
      maxEntries: deps.config.outboxMaxEvents,
      clock: deps.clock,
      random: deps.random,
      log: deps.log.child({ component: 'outbox' }),
      metrics: this.metrics,
      store: scopeStore(this.#store, OUTBOX_PREFIX),
      onReannounce: () => this.#reannounce(),
      send: createAgentClient({ agentUrl: deps.config.agentUrl, dispatcher: this.#dispatcher, token: () => this.#token, timeoutMs: AGENT_TIMEOUT_MS }),
    });
    this.#phases = deps.config.challengePhases > 0 ? new ChallengePhases(deps.config.challengePhases, deps.config.challengePhaseGuests) : undefined;
    this.#policy = this.#buildPolicy();
  }

  /** The URL advertised to the agent (valid after start). */
  get url(): string {
    return this.#url;
  }

  /** The bound TCP port (valid after start). */
  get port(): number {
    return this.#port;
  }

  get outboxDepth(): number {
    return this.#outbox.depth;
  }

  /** The outbox toward the agent: depth, oldest unacknowledged age, consecutive failures, last error. */
  outboxStats(): OutboxStats {
    return this.#outbox.stats();
  }

  session(uuid: string): InstanceSession | undefined {
    return this.#instances.get(uuid);
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const c = this.#config;
    this.#tokens.update(await readTokens(c.tokenFile), this.#deps.clock.now());
    this.#token = this.#tokens.sendToken;
    this.#app = buildApi({
      port: this, log: this.#log.child({ component: 'api' }), token: () => this.#token,
      acceptedTokens: () => this.#tokens.accepted(this.#deps.clock.now()),
      onCommand: () => { this.#lastCommandAt = this.#deps.clock.now(); },
      onConnectionRefused: (reason) => this.metrics.connectionRefused(reason), now: () => this.#deps.clock.now(),
    });
    await this.#app.listen({ host: c.bindAddress, port: c.rxPort });
    const address = this.#app.server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : c.rxPort;
    this.#url = c.advertiseUrl ?? `http://${c.hostname}:${this.#port}`;
    const restored = this.#restore();
    // The first event after start is server-ready (registration).
    this.#pushEvent({ kind: 'server-ready', url: this.#url, bootId: this.bootId });
    this.#outbox.start();
    this.#corroborator.start();
    await this.#discovery.start();
    // A restored record whose channel file the start-up scan did not find: the VM went away meanwhile.
    for (const session of restored) {
      if (session.channelPath !== undefined || this.#instances.get(session.uuid) !== session) continue;
      session.channelMissing();
      this.#instances.forgetIfOrphan(session);
    }
    this.#log.info({ url: this.#url, channelDir: c.channelDir, agentUrl: c.agentUrl, instances: this.#instances.size, bootId: this.bootId }, 'guest-server ready');
  }

  /** Idempotent: discovery (audit, watcher) → listener → sessions → outbox → dispatcher (reverse start order). */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  /** SIGHUP: thresholds, log level, token and audit period change at once; the rest needs a restart. */
  async reload(next: GuestServerConfig): Promise<void> {
    const prev = this.#config;
    // Settings bound at start keep their running values until a restart, so no part of the daemon (the
    // search audit, say) moves to a new channel_dir while the watcher stays on the old one.
    const applied: { -readonly [K in keyof GuestServerConfig]: GuestServerConfig[K] } = { ...next };
    for (const key of RESTART_ONLY_KEYS) {
      if (prev[key] !== next[key]) this.#log.warn({ key, from: prev[key], to: next[key] }, 'setting changes only at restart');
      Object.assign(applied, { [key]: prev[key] });
    }
    this.#tokens.update(await readTokens(next.tokenFile), this.#deps.clock.now());
    this.#token = this.#tokens.sendToken;
    this.#config = Object.freeze(applied);
    this.#log.level = next.logLevel;
    this.#policy = this.#buildPolicy();
    this.#discovery.rearm();
    this.#log.info({ heartbeat: next.heartbeat, logLevel: next.logLevel }, 'configuration reloaded');
  }

  // ---- CommandPort (the agent's commands) ----

  provisionInstance(uuid: string, reporting: boolean): InstanceInfo {
    this.#assertOpen();
    this.#knowledge.untomb(uuid);
    const session = this.#instances.get(uuid) ?? this.#instances.create(uuid, true);
    if (session === undefined) {
      throw new GuestServerError('GS_ERR_TOO_MANY_INSTANCES', `instance table full (${this.#config.maxInstances})`);
    }
    session.provision(reporting);
    this.#knowledge.persist(session);
    if (session.channelPath === undefined) void this.#discovery.findChannel(uuid);
    return buildInstanceInfo(this.#config.hostname, uuid, session.state);
  }

  deleteInstance(uuid: string): boolean {
    if (!this.#instances.delete(uuid)) return false;
    // Deleted stays deleted (issue 12 item 6): its queued events go and discovery does not bring it back.
    const dropped = this.#outbox.removeLane(instanceLane(uuid));
    this.#knowledge.forget(uuid);
    this.#corroborator.forget(uuid);
    this.#knowledge.tombstone(uuid, this.#deps.wallClockMs() + TOMBSTONE_MS);
    this.#log.info({ uuid, droppedEvents: dropped }, 'instance deleted by the agent');
    return true;
  }

  queryInstances(): InstanceQueryReply {
    const instances: InstanceInfo[] = [];
    for (const session of this.#instances.values()) instances.push(this.#instanceInfoWithCondition(session));
    return {
      hostname: this.#config.hostname, url: this.#url, bootId: this.bootId, hostReporting: this.#hostReporting ? 'enabled' : 'disabled', instances,
      outboxDepth: this.#outbox.depth,
    };
  }

  setHostReporting(reporting: boolean): void {
    if (reporting !== this.#hostReporting) {
      this.#log.info({ reporting }, 'host reporting changed');
      this.#knowledge.setHostReporting(reporting);
    }
    this.#hostReporting = reporting;
    this.#policy = this.#buildPolicy();
  }

  requestAction(uuid: string, event: EventType, notificationType: 'revocable' | 'irrevocable'): ActionAccepted | undefined {
    this.#assertOpen();
    const session = this.#instances.get(uuid);
    if (session === undefined) return undefined;
    const outcome = session.requestAction(event, notificationType);
    return { uuid, event, notificationType, timeoutMs: outcome.timeoutMs };
  }

  announce(): void {
    this.#assertOpen();
    this.#pushEvent({ kind: 'server-ready', url: this.#url, bootId: this.bootId });
    this.#outbox.retryNow();
  }

  /** The agent lost our registration (restart, swact): register again, once per request burst. */
  #reannounce(): void {
    if (this.#closing !== undefined || this.#outbox.has((e) => e.payload.kind === 'server-ready')) return;
    this.#log.info('agent asked for a new registration');
    this.#pushEvent({ kind: 'server-ready', url: this.#url, bootId: this.bootId });
  }

  health(): { readonly ok: boolean; readonly detail: Record<string, unknown> } {
    return {
      ok: this.#started && this.#closing === undefined,
      detail: {
        instances: this.#instances.size, outboxDepth: this.#outbox.depth, agentFailedAttempts: this.#outbox.stats().consecutiveFailures, outbox: this.#outbox.stats(), bootId: this.bootId,
        ...this.#healthDetail(),
      },
    };
  }

  #healthDetail(): ServerHealthDetail {
    return serverHealth({
      outbox: this.#outbox.stats(), lastCommandAt: this.#lastCommandAt, now: this.#deps.clock.now(),
      authenticated: this.#tokens.enabled, bindAddress: this.#config.bindAddress,
    });
  }

  async metricsText(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }

  // ---- sessions and events ----

  /** The table's session factory: a session reads the current policy and reports through the outbox. */
  #createSession(uuid: string): InstanceSession {
    // The instance's pino child is made at its first line (issue 17 item 4: most instances never write one).
    const log = new InstanceLog(this.#log, { component: 'instance', uuid });
    // Corroboration (issue 16): holdLoss in the policy, the forensics ring fed by the metrics, VMM re-mapping.
    const hooks = sessionHooks({
      corroborator: this.#corroborator, uuid, log, policy: this.#sessionPolicy, metrics: this.metrics, intervalMs: () => session.state.params.intervalMs,
    });
    const session: InstanceSession = new InstanceSession({
      uuid,
      clock: this.#deps.clock,
      log,
      policy: hooks.policy,
      connect: this.#connect,
      metrics: hooks.metrics,
      onReport: this.#sessionReport,
      onGone: this.#sessionGone,
      onStep: this.#sessionStep,
      onGuestLogMsg: hooks.onGuestLogMsg,
      timers: this.#timers,
    });
    return session;
  }

  /** Its last challenge unanswered for half an interval, or a window missed: corroboration samples every interval. */
  #atRisk(uuid: string): boolean {
    const state = this.#instances.get(uuid)?.state;
    if (state?.cycle.kind !== 'cycling') return false;
    const c = state.cycle;
    return c.misses > 0 || (!state.answered && this.#deps.clock.now() - c.sentAt >= state.params.intervalMs / 2);
  }

  /** The interval of an instance being challenged now, else undefined (corroboration samples only those). */
  #challengedInterval(uuid: string): number | undefined {
    const state = this.#instances.get(uuid)?.state;
    return state?.link.kind === 'connected' && state.cycle.kind === 'cycling' ? state.params.intervalMs : undefined;
  }

  #onReport(session: InstanceSession, report: Report): void {
    // A record deleted by the agent reports nothing more (its session is closed; this is the guard).
    if (this.#instances.get(session.uuid) !== session) return;
    const host = this.#config.hostname;
    let id: string;
    switch (report.kind) {
      case 'running':
        id = this.#pushEvent({ kind: 'running', instance: buildInstanceInfo(host, session.uuid, session.state) });
        break;
      case 'stopped':
        id = this.#pushEvent({ kind: 'stopped', instance: buildInstanceInfo(host, session.uuid, session.state), reason: report.reason });
        break;
      case 'ill-health':
        id = this.#pushEvent({ kind: 'ill-health', instance: buildInstanceInfo(host, session.uuid, session.state, report.action), logMsg: report.logMsg, ...this.#corroborate(session.uuid, 'ill-health') });
        break;
      case 'loss':
        id = this.#pushEvent({ kind: 'loss', uuid: session.uuid, correctiveAction: report.correctiveAction, ...this.#corroborate(session.uuid, 'loss') });
        break;
      case 'vote-result':
        id = this.#pushEvent({ kind: 'vote-result', uuid: session.uuid, notificationType: report.notificationType, eventType: report.event, vote: report.vote, reason: report.reason });
        break;
    }
    this.#knowledge.reported(session.uuid, report.kind, id);
  }

  /** The host-side class and evidence of a loss or ill-health report, logged (issue 16 item 3); {} when off. */
  #corroborate(uuid: string, report: 'loss' | 'ill-health'): { corroboration?: Corroboration } {
    const corroboration = this.#corroborator.corroborate(uuid, report);
    if (corroboration === undefined) return {};
    const { class: lossClass, evidence, deferredMs, lastLogMsg } = corroboration;
    this.#log.warn({ uuid, report, lossClass, evidence, deferredMs, lastLogMsg }, `${report} corroborated: ${lossClass}`);
    return { corroboration };
  }

  /** Instance knowledge and host reporting from the state directory; returns the restored sessions. */
  #restore(): InstanceSession[] {
    this.#hostReporting = this.#knowledge.hostReporting();
    this.#policy = this.#buildPolicy();
    const restored: InstanceSession[] = [];
    for (const { uuid, remainingMs } of this.#knowledge.restoreTombstones()) this.#instances.restoreTombstone(uuid, remainingMs);
    for (const { uuid, knowledge } of this.#knowledge.records()) {
      const session = this.#instances.create(uuid, true);
      if (session === undefined) {
        this.#knowledge.forget(uuid);
        continue;
      }
      this.#knowledge.restore(session, knowledge);
      restored.push(session);
    }
    this.#log.info({ instances: restored.length, outboxDepth: this.#outbox.depth, hostReporting: this.#hostReporting }, 'state restored');
    return restored;
  }

  #instanceInfoWithCondition(session: InstanceSession): InstanceInfo {
    return { ...buildInstanceInfo(this.#config.hostname, session.uuid, session.state), ...this.#knowledge.conditionFields(session) };
  }

  #pushEvent(body: DistributiveOmit<PeerEvent, 'id' | 'hostname' | 'atMs'>): string {
    const event = { ...body, id: `${this.bootId}-${++this.#eventSeq}`, hostname: this.#config.hostname, atMs: Math.max(0, Math.floor(this.#deps.wallClockMs())) } as PeerEvent;
    const outcome = this.#outbox.push(peerEventItem(event));
    if (outcome.result === 'refused') this.metrics.dropped(event.kind);
    else if (outcome.result === 'queued' && outcome.evicted !== undefined) this.metrics.dropped(outcome.evicted.payload.kind);
    return event.id;
  }

  #buildPolicy(): HeartbeatPolicy {
    const random = this.#deps.random;
    return {
      failureThreshold: this.#config.heartbeat.failureThreshold,
      pulsePeriodMs: this.#config.heartbeat.pulsePeriodMs,
      maxIntervalMs: Math.min(MAX_INTERVAL_MS, INT32_MAX),
      hostReporting: this.#hostReporting,
      reconnectIdleMs: HEARTBEAT_START_TIMEOUT_MS,
      voteGraceMs: VOTE_GRACE_MS,
      illHealthRepeatMs: ILL_HEALTH_REPEAT_MS,
      nextChallenge: () => drawChallenge(random),
      initDeadlineMs: this.#config.initDeadlineMs,
      challengePhaseMs: this.#phases?.phaseMs,
    };
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new GuestServerError('GS_ERR_CLOSING', 'guest-server is shutting down');
  }

  async #doClose(): Promise<void> {
    await this.#discovery.close();
    this.#corroborator.close();
    await this.#app?.close();
    this.#instances.closeAll();
    // Events already queued (a loss just detected) get a short chance to reach a reachable agent.
    await this.#outbox.drain(SHUTDOWN_DRAIN_MS);
    await this.#outbox.close();
    if (this.#ownsDispatcher) await this.#dispatcher.close().catch(() => undefined);
    this.#log.info('guest-server closed');
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The library entry: a configured, not yet started server. */
export function createGuestServer(deps: GuestServerDeps): GuestServer {
  return new GuestServer(deps);
}
