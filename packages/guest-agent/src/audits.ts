/**
 * The two state audits (daemons §6.1, issue 4 item 5), as passes run by PeriodicTask:
 * - agent↔VIM: for each host, the VIM's host state (A) and its instance list (B) until each succeeds
 *   once, then again every refresh period;
 * - agent↔server: GET /v1/instances of every registered server of a known host, reconciled by
 *   reconcileServer (reporting: the agent wins; heartbeating: the server wins; unknown instances deleted once audit B
 *   of the host succeeded).
 * A slow VIM or server delays only its own pass (every call has a timeout and runs off the request path).
 */
import type { Logger } from 'pino';
import type { Clock } from '@guesthb/protocol';
import type { Host, Inventory, ServerCommand } from './inventory.js';
import type { AgentMetrics } from './metrics.js';
import { reconcileServer } from './reconcile.js';
import type { ServerClient } from './server-client.js';
import type { VimClient } from './vim-client.js';
import type { VimEvent } from './vim-events.js';

export interface AuditDeps {
  readonly inventory: Inventory;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Pick<AgentMetrics, 'auditRuns'>;
  readonly submit: (commands: readonly ServerCommand[]) => void;
  readonly enqueue: (event: VimEvent) => void;
}

/** Hosts audited at the same time: the VIM's listener is single-threaded (vim §2.1). */
const VIM_AUDIT_CONCURRENCY = 2;
const SERVER_AUDIT_CONCURRENCY = 16;

export async function runVimAuditPass(deps: AuditDeps & { readonly vim: VimClient; readonly refreshMs: number }): Promise<void> {
  const now = deps.clock.now();
  const hosts = [...deps.inventory.hosts()];
  for (const host of hosts) {
    if (host.vimSyncedAtMs !== undefined && now - host.vimSyncedAtMs >= deps.refreshMs) {
      host.gotHostState = false;
      host.gotInstances = false;
      host.vimSyncedAtMs = undefined;
    }
  }
  // Both queries need the host uuid: a host learned from its server waits until the VIM names it (H5 …).
  await eachLimited(hosts.filter((h) => h.uuid !== undefined && (!h.gotHostState || !h.gotInstances)), VIM_AUDIT_CONCURRENCY, (host) => auditVimHost(deps, host));
}

async function auditVimHost(deps: AuditDeps & { readonly vim: VimClient }, host: Host): Promise<void> {
  const { inventory, log, metrics } = deps;
  const uuid = host.uuid;
  if (uuid === undefined) return;
  const hostLog = log.child({ hostname: host.hostname });
  if (!host.gotHostState) {
    try {
      const state = await deps.vim.getHostState(uuid, host.hostname);
      if (inventory.hostByName(host.hostname) !== host) return; // deleted meanwhile
      const on = state === 'enabled';
      if (on !== host.reporting || !host.reportingFromVim) {
        hostLog.info({ reporting: state }, 'host reporting from the VIM');
        deps.submit(inventory.setHostReporting(host, on));
      }
      host.gotHostState = true;
      metrics.auditRuns.inc({ audit: 'vim-host-state', outcome: 'ok' });
    } catch (err) {
      metrics.auditRuns.inc({ audit: 'vim-host-state', outcome: 'error' });
      // The VIM may not know the host yet: debug, as the original suppressed these logs (daemons §5.1).
      hostLog.debug({ err }, 'VIM host state query failed; retried at the next audit');
    }
  }
  if (!host.gotInstances) {
    try {
      const reply = await deps.vim.getHostInstances(uuid);
      if (inventory.hostByName(host.hostname) !== host || host.uuid !== uuid) return;
      let allAdded = true;
      for (const element of reply.instances) {
        // Added to the audited host, not the element's hostname (daemons §5.3b).
        const added = inventory.addInstance(host.hostname, element.uuid, element.services[0]?.state === 'enabled');
        if (added.ok) deps.submit(added.commands);
        else allAdded = false;
      }
      host.gotInstances = allAdded;
      if (allAdded) {
        const pruned = inventory.confirmListed(host, new Set(reply.instances.map((element) => element.uuid)));
        if (pruned.length > 0) hostLog.info({ removed: pruned.length }, 'instances learned from the server but not listed by the VIM removed');
        deps.submit(pruned);
      }
      metrics.auditRuns.inc({ audit: 'vim-host-instances', outcome: allAdded ? 'ok' : 'error' });
    } catch (err) {
      metrics.auditRuns.inc({ audit: 'vim-host-instances', outcome: 'error' });
      hostLog.debug({ err }, 'VIM host instances query failed; retried at the next audit');
    }
  }
  if (host.gotHostState && host.gotInstances) host.vimSyncedAtMs = deps.clock.now();
}

export async function runServerAuditPass(deps: AuditDeps & { readonly servers: ServerClient }): Promise<void> {
  const targets = [...deps.inventory.hosts()].flatMap((host) => {
    const server = deps.inventory.server(host.hostname);
    return server === undefined ? [] : [{ hostname: host.hostname, url: server.url }];
  });
  await eachLimited(targets, SERVER_AUDIT_CONCURRENCY, async ({ hostname, url }) => {
    try {
      const reply = await deps.servers.query(url);
      const result = reconcileServer(deps.inventory, hostname, reply, deps.clock.now());
      if (result.commands.length > 0 || result.vim.length > 0) {
        deps.log.info({ hostname, commands: result.commands.length, vimEvents: result.vim.length }, 'server audit corrected state');
      }
      deps.submit(result.commands);
      for (const event of result.vim) deps.enqueue(event);
      deps.metrics.auditRuns.inc({ audit: 'server', outcome: 'ok' });
    } catch (err) {
      deps.metrics.auditRuns.inc({ audit: 'server', outcome: 'error' });
      deps.log.warn({ err, hostname }, 'server audit query failed');
    }
  });
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
