/**
 * The guest-agent daemon as a component (STYLE.md R13): the driver of the agent's reducer
 * (agent-reducer.ts). It holds the one readonly AgentState, feeds it every input (VIM commands, server
 * events, audit replies, VIM deliveries, ticks) and performs the effects: server commands (per-host
 * outboxes), VIM events (the VIM outbox), journal writes, logs and metrics. main.ts builds it with the real
 * clock, random source, dispatcher and journal; tests build it with a ManualClock or real time on port 0.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { TokenRing, isLoopbackAddress } from '@guesthb/daemon-kit';
import type { KeyValueStore, OutboxOptions } from '@guesthb/outbox';
import type { Clock, EventAck, EventBatch, TimerHandle } from '@guesthb/protocol';
import { step } from './agent-reducer.js';
import { emptyAgentState, DEFAULT_INVENTORY_LIMITS, type AgentEffect, type AgentInput, type AgentState, type DurableRecord, type InventoryLimits } from './agent-state.js';
import { runServerAuditPass, runVimAuditPass } from './audits.js';
import type { AgentConfig } from './config.js';
import { GuestAgentError, GuestAgentErrorCode } from './errors.js';
import { InventoryFleet } from './fleet-source.js';
import { Inventory, type InventoryReader } from './inventory.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { operatorRoutes } from './operator-app.js';
import { PeriodicTask } from './periodic-task.js';
import { buildRxApp } from './rx-app.js';
import { ServerReachability } from './server-reachability.js';
import { ListenerGuard, RX_HTTP_LIMITS, VIM_HTTP_LIMITS } from './listener-limits.js';
import { createServerClient } from './server-client.js';
import { ServerCommander } from './server-commander.js';
import { buildVimApp } from './vim-app.js';
import { createVimClient } from './vim-client.js';
import type { VimOutcome, VimRequest } from './vim-commands.js';
import { VimOutbox } from './vim-outbox.js';

export interface GuestAgentDeps {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  /** Wall-clock ms for what is journaled (vote deadlines, tombstones); default: the clock. */
  readonly wallClock?: () => number;
  /** Bearer token of the peer API, or undefined. */
  readonly token?: string | undefined;
  /** Every token accepted (the token file's lines); defaults to [token]. */
  readonly tokens?: readonly string[] | undefined;
  /** undici dispatcher for the VIM and the servers; the agent creates (and closes) its own if absent. */
  readonly dispatcher?: Dispatcher;
  readonly limits?: InventoryLimits;
  readonly outbox?: Partial<OutboxOptions>;
  /** The journal (state_dir, issue 12 item 4); undefined = nothing survives a restart. */
  readonly store?: KeyValueStore;
  /** Per-request timeout toward the VIM (the original: 20 s). */
  readonly vimTimeoutMs?: number;
  /** Per-request timeout toward guest-servers. */
  readonly serverTimeoutMs?: number;
  /** How long an I5/I6 reply waits for the server to take the vote before answering "0". */
  readonly actionForwardTimeoutMs?: number;
  /** Re-query the VIM's host state and instance list this long after they last succeeded. */
  readonly vimRefreshMs?: number;
  /** Delay of the first audits (the original: 2 s). */
  readonly firstAuditDelayMs?: number;
  /** Event ids remembered for idempotency. */
  readonly maxSeenEventIds?: number;
  /** Period of the reducer's tick (vote deadlines, tombstone expiry). */
  readonly tickMs?: number;
}

/** A read-only view of the agent's reducer state (the operator API reads it: issue 15). */
export interface AgentView {
  readonly state: AgentState;
  readonly inventory: InventoryReader;
  readonly vimOutboxDepth: number;
  readonly serverCommandDepth: number;
}

export interface GuestAgent {
  /** The current inventory (read-only; changes only through the reducer). */
  readonly inventory: InventoryReader;
  readonly metrics: AgentMetrics;
  readonly outbox: VimOutbox;
  view(): AgentView;
  /** Tests: changes the state directly (setup), without effects. */
  update(fn: (draft: Inventory) => void): void;
  /** Listens on both ports; resolves with the bound addresses. */
  start(): Promise<{ readonly rx: AddressInfo; readonly vim: AddressInfo }>;
  /** Applies what can change at run time: log level, audit period, token (SIGHUP). */
  reload(config: AgentConfig, token: string | undefined, tokens?: readonly string[]): void;
  /** Runs both audits now and waits for them (tests). */
  auditNow(): Promise<void>;
  /** Runs the reducer's tick now (tests). */
  tickNow(): void;
  /** Waits until queued VIM events and server commands are done (tests). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

const STATE_PREFIX = 'agent/';
const OUTBOX_PREFIX = 'vim-outbox/';

/** A reader whose every call reads the state current at the time of the call. */
function liveReader(current: () => AgentState): InventoryReader {
  const inv = (): Inventory => new Inventory(current());
  return {
    get hostCount() { return current().hosts.size; },
    get instanceCount() { return current().instances.size; },
    hosts: () => current().hosts.values(),
    instances: () => current().instances.values(),
    hostByName: (hostname) => current().hosts.get(hostname),
    hostByUuidOrName: (key) => inv().hostByUuidOrName(key),
    instance: (uuid) => current().instances.get(uuid),
    instancesOn: (hostname) => inv().instancesOn(hostname),
    server: (hostname) => current().servers.get(hostname),
    told: (uuid) => current().told.get(uuid),
    tombstone: (uuid) => current().tombstones.get(uuid),
    vote: (uuid) => current().votes.get(uuid),
  };
}

export function createGuestAgent(deps: GuestAgentDeps): GuestAgent {
  const log = deps.log;
  let config = deps.config;
  let token = deps.token;
  // Accepted tokens: the file's lines, plus the previous file's for the rotation window (issue 11 item 2).
  const tokenRing = new TokenRing(deps.config.tokenRotationWindowMs ?? 600_000);
  tokenRing.update(deps.tokens ?? (token === undefined ? undefined : [token]), deps.clock.now());
  const reachability = new ServerReachability(() => deps.clock.now());
  const now = deps.wallClock ?? (() => deps.clock.now());
  const ownDispatcher = deps.dispatcher === undefined ? new Agent({ connections: 64 }) : undefined;
  const dispatcher = deps.dispatcher ?? (ownDispatcher as Dispatcher);
  const limits: InventoryLimits = { ...DEFAULT_INVENTORY_LIMITS, tombstoneTtlMs: config.tombstoneTtlMs, ...deps.limits };
  let state = emptyAgentState(limits);
  const inventory = liveReader(() => state);
  // The outbox is built below with the metrics' observer; its figures are read at scrape time only.
  const metrics = createAgentMetrics(inventory, () => outbox.stats());
  const vimTimeoutMs = deps.vimTimeoutMs ?? 20_000;
  const vim = createVimClient({ baseUrl: config.vimEventUrl, dispatcher, timeoutMs: vimTimeoutMs });
  const servers = reachability.wrap(createServerClient({ dispatcher, timeoutMs: deps.serverTimeoutMs ?? 5_000, token: () => token }));
  const actionServers = createServerClient({ dispatcher, timeoutMs: deps.actionForwardTimeoutMs ?? 2_000, token: () => token });
  const store = deps.store;
  const scoped = (prefix: string): KeyValueStore | undefined => store === undefined ? undefined : {
    get: (key) => store.get(prefix + key),
    put: (key, value) => store.put(prefix + key, value),
    delete: (key) => store.delete(prefix + key),
    *entries() {
      for (const [key, value] of store.entries()) if (key.startsWith(prefix)) yield [key.slice(prefix.length), value];
    },
  };
  const stateStore = scoped(STATE_PREFIX);
  const outboxStore = scoped(OUTBOX_PREFIX);
  const outboxLog = log.child({ component: 'vim-outbox' });
  const outbox = new VimOutbox({
    clock: deps.clock, random: deps.random, send: (event, signal) => vim.sendEvent(event, signal), log: outboxLog,
    onDelivered: (event) => dispatch({ type: 'vim-delivered', event }),
    onDropped: (event) => dispatch({ type: 'vim-dropped', event }),
    observer: metrics.outboxObserver,
    // A batch's deadline: past the request timeout, so a request that times out on its own ends first.
    options: { sendTimeoutMs: vimTimeoutMs + 5_000, ...deps.outbox },
    ...(outboxStore === undefined ? {} : { store: outboxStore }),
  });
  const commander = new ServerCommander({
    clock: deps.clock, random: deps.random, server: (hostname) => state.servers.get(hostname), client: servers,
    log: log.child({ component: 'server-commander' }), metrics, maxBacklogPerHost: 1000, maxHosts: limits.maxHosts,
  });
  const reducerLog = log.child({ component: 'agent' });

  /** Steps the reducer and performs its effects; returns the reply effects for the caller. */
  function dispatch(input: AgentInput): AgentEffect[] {
    const [next, effects] = step(state, input, now());
    state = next;
    const replies: AgentEffect[] = [];
    for (const fx of effects) {
      switch (fx.type) {
        case 'server-command':
          commander.submit([fx.command]);
          break;
        case 'vim-event':
          outbox.enqueue(fx.event);
          break;
        case 'persist':
          if (fx.record === undefined) stateStore?.delete(fx.key);
          else stateStore?.put(fx.key, fx.record);
          break;
        case 'log':
          reducerLog[fx.level](fx.fields, fx.msg);
          break;
        case 'metric':
          (metrics[fx.name] as { inc(labels: Record<string, string>): void }).inc(fx.labels);
          break;
        case 'vim-reply':
        case 'forward-action':
          replies.push(fx);
          break;
      }
    }
    return replies;
  }

  if (stateStore !== undefined) {
    const records = [...stateStore.entries()].map(([, value]) => value as DurableRecord)
      .filter((r) => typeof r === 'object' && r !== null && ['alarm', 'vote', 'tombstone', 'host', 'instance', 'server'].includes((r as { type?: string }).type ?? ''));
    if (records.length > 0) dispatch({ type: 'restore', records });
  }

  const seen = new Map<string, true>();
  const maxSeen = deps.maxSeenEventIds ?? 20_000;
  const acceptEvents = (batch: EventBatch): EventAck => {
    const acked: string[] = [];
    const fresh: EventBatch['events'][number][] = [];
    let sawReady = false;
    const keys = new Set<string>();
    for (const event of batch.events) {
      const key = `${event.hostname}\u0000${event.id}`;
      acked.push(event.id);
      if (event.kind === 'server-ready') sawReady = true;
      if (seen.has(key) || keys.has(key)) {
        metrics.serverEvents.inc({ kind: event.kind, outcome: 'duplicate' });
        continue;
      }
      keys.add(key);
      fresh.push(event);
    }
    // Journal writes happen inside dispatch, before this acknowledgement is returned (issue 12 item 4); the
    // ids count as seen only once the batch was applied (a failure answers 500 and the server retries it).
    if (fresh.length > 0) dispatch({ type: 'server-events', events: fresh });
    for (const key of keys) {
      seen.set(key, true);
      if (seen.size > maxSeen) seen.delete(seen.keys().next().value as string);
    }
    for (const event of fresh) fleet.noteServerEvent(event);
    const hostname = batch.events[0]?.hostname;
    const reannounce = !sawReady && hostname !== undefined && state.servers.get(hostname) === undefined;
    return reannounce ? { acked, reannounce: true } : { acked };
  };

  const handleVim = async (request: VimRequest): Promise<VimOutcome> => {
    const [reply] = dispatch({ type: 'vim-request', request });
    if (reply?.type === 'vim-reply') return reply.outcome;
    if (reply?.type !== 'forward-action') throw new GuestAgentError(GuestAgentErrorCode.INTERNAL, 'no reply decided');
    const server = state.servers.get(reply.hostname);
    let ok = false;
    if (server !== undefined) {
      try {
        await actionServers.action(server.url, reply.uuid, reply.command, reply.action);
        ok = true;
      } catch (err) {
        log.warn({ err, uuid: reply.uuid, command: reply.command, event: reply.action }, 'vote/notify not delivered to the server; answering timeout "0"');
      }
    }
    dispatch({ type: 'action-forwarded', uuid: reply.uuid, hostname: reply.hostname, command: reply.command, action: reply.action, timeoutSecs: reply.timeoutSecs, ok });
    return ok ? reply.forwarded : reply.notForwarded;
  };

  // The operator API's view of the fleet (issue 15); a server counts as unreachable after 2.5 audit periods of silence.
  // The reducer's times (server contact) are on `now` (wall clock in the daemon): the fleet compares on it too.
  const reducerClock: Clock = {
    now, setTimeout: (fn, delayMs) => deps.clock.setTimeout(fn, delayMs), clearTimeout: (handle) => deps.clock.clearTimeout(handle),
  };
  const fleet = new InventoryFleet({
    inventory, clock: reducerClock, log: log.child({ component: 'operator' }), vimOutboxDepth: () => outbox.size,
    reachableWindowMs: () => Math.max(2.5 * config.auditPeriodMs, 10_000),
  });

  let listening = false;
  const vimApp = buildVimApp({ handle: handleVim, log: log.child({ component: 'vim-api' }), metrics });
  const rxApp = buildRxApp({
    log: log.child({ component: 'rx' }), metrics, token: () => token, acceptEvents,
    acceptedTokens: () => tokenRing.accepted(deps.clock.now()),
    problems: () => reachability.reasons(state.servers.values()),
    unauthenticated: !tokenRing.enabled && !isLoopbackAddress(config.rxHost),
    now: () => deps.clock.now(),
    health: () => ({ ok: listening, detail: { hosts: state.hosts.size, instances: state.instances.size, outbox: outbox.size, outboxSendAgeMs: Math.round(outbox.stats().oldestInFlightAgeMs) } }),
  });
  void rxApp.register(operatorRoutes, { fleet, token: () => token, log: log.child({ component: 'operator' }), clock: deps.clock });
  // Bounded connections on both listeners (issue 11 item 3).
  const guard = new ListenerGuard(metrics.registry, log.child({ component: 'listeners' }), () => deps.clock.now());
  guard.apply(rxApp.server, 'rx', RX_HTTP_LIMITS);
  guard.apply(vimApp.server, 'vim', VIM_HTTP_LIMITS);
  const auditDeps = {
    state: () => state, clock: { now }, metrics,
    dispatch: (input: AgentInput): void => {
      if (input.type === 'server-audit-reply') fleet.noteServerQuery(input.reply); // guest names, intervals, misses (issue 15)
      void dispatch(input);
    },
  };
  const firstDelayMs = deps.firstAuditDelayMs ?? 2_000;
  const vimAudit = new PeriodicTask({
    clock: deps.clock, log: log.child({ component: 'vim-audit' }), firstDelayMs, periodMs: config.auditPeriodMs,
    run: () => runVimAuditPass({ ...auditDeps, log: log.child({ component: 'vim-audit' }), vim, refreshMs: deps.vimRefreshMs ?? 30 * config.auditPeriodMs }),
  });
  const serverAudit = new PeriodicTask({
    clock: deps.clock, log: log.child({ component: 'server-audit' }), firstDelayMs, periodMs: config.auditPeriodMs,
    run: () => runServerAuditPass({ ...auditDeps, log: log.child({ component: 'server-audit' }), servers }),
  });
  const tickMs = deps.tickMs ?? 1_000;
  let tickTimer: TimerHandle | undefined;
  const armTick = (): void => {
    tickTimer = deps.clock.setTimeout(() => {
      dispatch({ type: 'tick' });
      armTick();
    }, tickMs);
  };

  let closing: Promise<void> | undefined;
  const doClose = async (): Promise<void> => {
    listening = false;
    if (tickTimer !== undefined) deps.clock.clearTimeout(tickTimer);
    await Promise.all([vimAudit.close(), serverAudit.close()]);
    await vimApp.close();
    await rxApp.close();
    fleet.close();
    await Promise.all([outbox.close(), commander.close()]);
    await ownDispatcher?.destroy();
  };

  return {
    inventory, metrics, outbox,
    view: () => ({ state, inventory, vimOutboxDepth: outbox.size, serverCommandDepth: commander.depth }),
    update(fn) {
      const draft = new Inventory(state);
      fn(draft);
      state = draft.snapshot();
    },
    async start() {
      if (closing !== undefined) throw new GuestAgentError(GuestAgentErrorCode.CLOSED, 'guest-agent is closed');
      await rxApp.listen({ host: config.rxHost, port: config.rxPort });
      await vimApp.listen({ host: config.vimCmdHost, port: config.vimCmdPort });
      listening = true;
      outbox.start();
      vimAudit.start();
      serverAudit.start();
      armTick();
      return { rx: rxApp.server.address() as AddressInfo, vim: vimApp.server.address() as AddressInfo };
    },
    reload(next, nextToken, nextTokens) {
      if (next.rxPort !== config.rxPort || next.vimCmdPort !== config.vimCmdPort || next.vimEventUrl !== config.vimEventUrl
        || next.rxHost !== config.rxHost || next.vimCmdHost !== config.vimCmdHost || next.stateDir !== config.stateDir) {
        log.warn('listen addresses, vim_event_url and state_dir change only on restart');
      }
      log.level = next.logLevel;
      vimAudit.setPeriod(next.auditPeriodMs);
      serverAudit.setPeriod(next.auditPeriodMs);
      token = nextToken;
      tokenRing.update(nextTokens ?? (nextToken === undefined ? undefined : [nextToken]), deps.clock.now());
      config = next;
    },
    async auditNow() {
      await Promise.all([vimAudit.runNow(), serverAudit.runNow()]);
    },
    tickNow() {
      dispatch({ type: 'tick' });
    },
    async whenIdle() {
      await commander.whenIdle();
      await outbox.whenIdle();
      await commander.whenIdle();
    },
    close() {
      closing ??= doClose();
      return closing;
    },
  };
}
