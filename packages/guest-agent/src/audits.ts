/**
 * The two state audits (daemons §6.1, issue 4 item 5, issue 12 item 5) as I/O passes run by PeriodicTask;
 * their rules are the reducer's (agent-reducer.ts, reconcile.ts): a pass only queries and feeds each reply in.
 * - agent↔VIM: for each host, the VIM's host state (A) and its instance list (B) until each succeeds
 *   once, then again every refresh period;
 * - agent↔server: GET /v1/instances of every registered server of a known host; the reply is compared with
 *   the inventory and with what the VIM was last told (reporting: the agent wins; heartbeating and alarms:
 *   the server wins, and the VIM is told what it misses).
 * A slow VIM or server delays only its own pass (every call has a timeout and runs off the request path).
 */
import type { Logger } from 'pino';
import type { Clock } from '@guesthb/protocol';
import type { AgentInput, AgentState } from './agent-state.js';
import type { AgentMetrics } from './metrics.js';
import type { ServerClient } from './server-client.js';
import type { VimClient } from './vim-client.js';

export interface AuditDeps {
  readonly state: () => AgentState;
  readonly dispatch: (input: AgentInput) => void;
  readonly clock: Pick<Clock, 'now'>;
  readonly log: Logger;
  readonly metrics: Pick<AgentMetrics, 'auditRuns'>;
}

/** Hosts audited at the same time: the VIM's listener is single-threaded (vim §2.1). */
const VIM_AUDIT_CONCURRENCY = 2;
const SERVER_AUDIT_CONCURRENCY = 16;

export async function runVimAuditPass(deps: AuditDeps & { readonly vim: VimClient; readonly refreshMs: number }): Promise<void> {
  deps.dispatch({ type: 'vim-audit-start', refreshMs: deps.refreshMs });
  // Both queries need the host uuid: a host learned from its server waits until the VIM names it (H5 …).
  const hosts = [...deps.state().hosts.values()].filter((h) => h.uuid !== undefined && (!h.gotHostState || !h.gotInstances));
  await eachLimited(hosts, VIM_AUDIT_CONCURRENCY, async (host) => {
    const uuid = host.uuid;
    if (uuid === undefined) return;
    const hostLog = deps.log.child({ hostname: host.hostname });
    if (!host.gotHostState) {
      const state = await deps.vim.getHostState(uuid, host.hostname).catch((err: unknown) => {
        // The VIM may not know the host yet: debug, as the original suppressed these logs (daemons §5.1).
        hostLog.debug({ err }, 'VIM host state query failed; retried at the next audit');
        return undefined;
      });
      deps.dispatch({ type: 'vim-host-state', hostname: host.hostname, uuid, state });
    }
    if (!host.gotInstances) {
      const queriedAtMs = deps.clock.now();
      const reply = await deps.vim.getHostInstances(uuid).catch((err: unknown) => {
        hostLog.debug({ err }, 'VIM host instances query failed; retried at the next audit');
        return undefined;
      });
      deps.dispatch({ type: 'vim-host-instances', hostname: host.hostname, uuid, reply, queriedAtMs });
    }
  });
}

export async function runServerAuditPass(deps: AuditDeps & { readonly servers: ServerClient }): Promise<void> {
  const state = deps.state();
  const targets = [...state.hosts.values()].flatMap((host) => {
    const server = state.servers.get(host.hostname);
    return server === undefined ? [] : [{ hostname: host.hostname, url: server.url }];
  });
  await eachLimited(targets, SERVER_AUDIT_CONCURRENCY, async ({ hostname, url }) => {
    const queriedAtMs = deps.clock.now();
    try {
      const reply = await deps.servers.query(url);
      deps.dispatch({ type: 'server-audit-reply', hostname, reply, queriedAtMs });
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
