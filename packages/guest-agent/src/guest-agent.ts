/**
 * The guest-agent daemon as a component (STYLE.md R13): inventory, VIM command receiver, rx listener
 * for guest-servers, VIM event outbox, server commander and the two audits. main.ts builds it with the
 * real clock, random source and dispatcher; tests build it with a ManualClock or real time on port 0.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { Clock, EventAck, EventBatch, EventType } from '@guesthb/protocol';
import { runServerAuditPass, runVimAuditPass } from './audits.js';
import type { AgentConfig } from './config.js';
import { GuestAgentError, GuestAgentErrorCode } from './errors.js';
import { DEFAULT_INVENTORY_LIMITS, Inventory, type Instance, type InventoryLimits } from './inventory.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { InventoryFleet } from './fleet-source.js';
import { operatorRoutes } from './operator-app.js';
import { PeriodicTask } from './periodic-task.js';
import { buildRxApp } from './rx-app.js';
import { createServerClient } from './server-client.js';
import { ServerCommander } from './server-commander.js';
import { planServerEvent } from './server-events.js';
import { buildVimApp } from './vim-app.js';
import { createVimClient } from './vim-client.js';
import { DEFAULT_OUTBOX_OPTIONS, VimOutbox, type OutboxOptions } from './vim-outbox.js';

export interface GuestAgentDeps {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  /** Bearer token of the peer API, or undefined. */
  readonly token?: string | undefined;
  /** undici dispatcher for the VIM and the servers; the agent creates (and closes) its own if absent. */
  readonly dispatcher?: Dispatcher;
  readonly limits?: InventoryLimits;
  readonly outbox?: OutboxOptions;
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
}

export interface GuestAgent {
  readonly inventory: Inventory;
  readonly metrics: AgentMetrics;
  readonly outbox: VimOutbox;
  /** Listens on both ports; resolves with the bound addresses. */
  start(): Promise<{ readonly rx: AddressInfo; readonly vim: AddressInfo }>;
  /** Applies what can change at run time: log level, audit period, token (SIGHUP). */
  reload(config: AgentConfig, token: string | undefined): void;
  /** Runs both audits now and waits for them (tests). */
  auditNow(): Promise<void>;
  /** Waits until queued VIM events and server commands are done (tests). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

export function createGuestAgent(deps: GuestAgentDeps): GuestAgent {
  const log = deps.log;
  let config = deps.config;
  let token = deps.token;
  const ownDispatcher = deps.dispatcher === undefined ? new Agent({ connections: 64 }) : undefined;
  const dispatcher = deps.dispatcher ?? (ownDispatcher as Dispatcher);
  const inventory = new Inventory(deps.limits ?? DEFAULT_INVENTORY_LIMITS);
  const metrics = createAgentMetrics(inventory);
  const vim = createVimClient({ baseUrl: config.vimEventUrl, dispatcher, timeoutMs: deps.vimTimeoutMs ?? 20_000 });
  const servers = createServerClient({ dispatcher, timeoutMs: deps.serverTimeoutMs ?? 5_000, token: () => token });
  const actionServers = createServerClient({ dispatcher, timeoutMs: deps.actionForwardTimeoutMs ?? 2_000, token: () => token });
  const outbox = new VimOutbox({
    clock: deps.clock, random: deps.random, send: (event) => vim.sendEvent(event), log: log.child({ component: 'vim-outbox' }),
    observer: metrics.outboxObserver, options: deps.outbox ?? DEFAULT_OUTBOX_OPTIONS,
  });
  // The operator API's view of the fleet (issue 15); a server counts as unreachable after 2.5 audit periods of silence.
  const fleet = new InventoryFleet({
    inventory, clock: deps.clock, log: log.child({ component: 'operator' }), vimOutboxDepth: () => outbox.size,
    reachableWindowMs: () => Math.max(2.5 * config.auditPeriodMs, 10_000),
  });
  const commander = new ServerCommander({ inventory, client: servers, log: log.child({ component: 'server-commander' }), metrics, maxBacklogPerHost: 1000 });
  const submit = (commands: Parameters<ServerCommander['submit']>[0]): void => commander.submit(commands);
  const enqueue = (event: Parameters<VimOutbox['enqueue']>[0]): void => outbox.enqueue(event);

  const seen = new Map<string, true>();
  const maxSeen = deps.maxSeenEventIds ?? 20_000;
  const eventLog = log.child({ component: 'server-events' });
  const acceptEvents = (batch: EventBatch): EventAck => {
    const acked: string[] = [];
    let sawReady = false;
    for (const event of batch.events) {
      const key = `${event.hostname}\u0000${event.id}`;
      acked.push(event.id);
      if (event.kind === 'server-ready') sawReady = true;
      if (seen.has(key)) {
        metrics.serverEvents.inc({ kind: event.kind, outcome: 'duplicate' });
        continue;
      }
      seen.set(key, true);
      if (seen.size > maxSeen) seen.delete(seen.keys().next().value as string);
      metrics.serverEvents.inc({ kind: event.kind, outcome: 'new' });
      const plan = planServerEvent(inventory, event, deps.clock.now());
      eventLog.info({ hostname: event.hostname, kind: event.kind, id: event.id, vimEvents: plan.vim.length, commands: plan.commands.length, note: plan.note }, 'server event');
      submit(plan.commands);
      for (const vimEvent of plan.vim) enqueue(vimEvent);
      fleet.noteServerEvent(event);
    }
    const hostname = batch.events[0]?.hostname;
    const reannounce = !sawReady && hostname !== undefined && inventory.server(hostname) === undefined;
    return reannounce ? { acked, reannounce: true } : { acked };
  };

  const forwardAction = async (inst: Instance, command: 'vote' | 'notify', event: EventType): Promise<boolean> => {
    const server = inventory.server(inst.hostname);
    if (server === undefined) return false;
    try {
      await actionServers.action(server.url, inst.uuid, command, event);
      return true;
    } catch (err) {
      log.warn({ err, uuid: inst.uuid, command, event }, 'vote/notify not delivered to the server; answering timeout "0"');
      return false;
    }
  };

  let listening = false;
  const vimApp = buildVimApp({ inventory, forwardAction, log: log.child({ component: 'vim-api' }), metrics, submit });
  const rxApp = buildRxApp({
    log: log.child({ component: 'rx' }), metrics, token: () => token, acceptEvents,
    health: () => ({ ok: listening, detail: { hosts: inventory.hostCount, instances: inventory.instanceCount, outbox: outbox.size } }),
  });
  void rxApp.register(operatorRoutes, { fleet, token: () => token, log: log.child({ component: 'operator' }), clock: deps.clock });
  const auditDeps = { inventory, clock: deps.clock, metrics, submit, enqueue };
  const firstDelayMs = deps.firstAuditDelayMs ?? 2_000;
  const vimAudit = new PeriodicTask({
    clock: deps.clock, log: log.child({ component: 'vim-audit' }), firstDelayMs, periodMs: config.auditPeriodMs,
    run: () => runVimAuditPass({ ...auditDeps, log: log.child({ component: 'vim-audit' }), vim, refreshMs: deps.vimRefreshMs ?? 30 * config.auditPeriodMs }),
  });
  const serverAudit = new PeriodicTask({
    clock: deps.clock, log: log.child({ component: 'server-audit' }), firstDelayMs, periodMs: config.auditPeriodMs,
    run: () => runServerAuditPass({ ...auditDeps, log: log.child({ component: 'server-audit' }), servers }),
  });

  let closing: Promise<void> | undefined;
  const doClose = async (): Promise<void> => {
    listening = false;
    await Promise.all([vimAudit.close(), serverAudit.close()]);
    await vimApp.close();
    await rxApp.close();
    fleet.close();
    outbox.close();
    commander.close();
    await ownDispatcher?.destroy();
  };

  return {
    inventory, metrics, outbox,
    async start() {
      if (closing !== undefined) throw new GuestAgentError(GuestAgentErrorCode.CLOSED, 'guest-agent is closed');
      await rxApp.listen({ host: config.rxHost, port: config.rxPort });
      await vimApp.listen({ host: config.vimCmdHost, port: config.vimCmdPort });
      listening = true;
      vimAudit.start();
      serverAudit.start();
      return { rx: rxApp.server.address() as AddressInfo, vim: vimApp.server.address() as AddressInfo };
    },
    reload(next, nextToken) {
      if (next.rxPort !== config.rxPort || next.vimCmdPort !== config.vimCmdPort || next.vimEventUrl !== config.vimEventUrl
        || next.rxHost !== config.rxHost || next.vimCmdHost !== config.vimCmdHost) {
        log.warn('listen addresses and vim_event_url change only on restart');
      }
      log.level = next.logLevel;
      vimAudit.setPeriod(next.auditPeriodMs);
      serverAudit.setPeriod(next.auditPeriodMs);
      token = nextToken;
      config = next;
    },
    async auditNow() {
      await Promise.all([vimAudit.runNow(), serverAudit.runNow()]);
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
