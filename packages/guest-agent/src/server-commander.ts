/**
 * Performs ServerCommands toward guest-servers on the shared @guesthb/outbox (issue 12 item 8b): one
 * outbox per host (a dead server backs off only its own commands), commands of one host in order, a newer
 * command for the same instance (or the host's reporting) replacing an older one still waiting, a bounded
 * backlog per host (the audit repairs anything refused or failed: daemons §6.1), never awaited by the caller.
 * A host whose server has not registered yet drops its commands: its server-ready pushes the whole state.
 * Not persisted: the agent's state is pushed again to every server that registers.
 */
import { Outbox, type OutboxLog, type QueuedEntry, type SettleResult } from '@guesthb/outbox';
import type { Clock } from '@guesthb/protocol';
import type { ServerRecord } from './agent-state.js';
import type { ServerCommand } from './inventory.js';
import type { AgentMetrics } from './metrics.js';
import type { ServerClient } from './server-client.js';

export interface ServerCommanderDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly server: (hostname: string) => ServerRecord | undefined;
  readonly client: ServerClient;
  readonly log: OutboxLog;
  readonly metrics: Pick<AgentMetrics, 'serverCommands'>;
  readonly maxBacklogPerHost: number;
  /** Hosts with an outbox at most (bounded like the host table). */
  readonly maxHosts: number;
}

let seq = 0;

export class ServerCommander {
  readonly #deps: ServerCommanderDeps;
  readonly #outboxes = new Map<string, Outbox<ServerCommand>>();
  readonly #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(deps: ServerCommanderDeps) {
    this.#deps = deps;
  }

  /** Commands waiting over all hosts. */
  get depth(): number {
    let n = 0;
    for (const outbox of this.#outboxes.values()) n += outbox.depth;
    return n;
  }

  submit(commands: readonly ServerCommand[]): void {
    for (const command of commands) this.#submitOne(command);
  }

  /** Resolves when every outbox has drained (tests). */
  whenIdle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#outboxes.values()].map((o) => o.close()));
  }

  #submitOne(command: ServerCommand): void {
    const { metrics, log } = this.#deps;
    if (this.#closed) return;
    let outbox = this.#outboxes.get(command.hostname);
    if (outbox === undefined) {
      if (this.#outboxes.size >= this.#deps.maxHosts) {
        metrics.serverCommands.inc({ command: command.type, outcome: 'dropped' });
        return;
      }
      outbox = new Outbox<ServerCommand>({
        clock: this.#deps.clock, random: this.#deps.random, log,
        options: { maxEntries: this.#deps.maxBacklogPerHost, maxBatchEntries: 1, concurrency: 1, backoff: { baseMs: 500, maxMs: 10_000, jitter: 0.5 } },
        send: (entries) => this.#perform(entries),
        metrics: {
          depth: (n) => {
            if (n === 0 && this.depth === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
          },
        },
      });
      outbox.start();
      this.#outboxes.set(command.hostname, outbox);
    }
    const key = command.type === 'put-host' ? 'host' : `i:${command.uuid}`;
    const pushed = outbox.push({ id: `c${++seq}`, lane: command.hostname, priority: 'control', coalesceKey: key, payload: command });
    if (pushed.result === 'refused' || (pushed.result === 'queued' && pushed.evicted !== undefined)) {
      metrics.serverCommands.inc({ command: command.type, outcome: 'dropped' });
      log.warn({ hostname: command.hostname, command: command.type }, 'server command backlog full: dropped (the audit repairs it)');
    }
  }

  async #perform(entries: readonly QueuedEntry<ServerCommand>[]): Promise<SettleResult> {
    const { client, metrics, log } = this.#deps;
    const acked: string[] = [];
    for (const entry of entries) {
      const command = entry.payload;
      const server = this.#deps.server(command.hostname);
      if (server === undefined) {
        metrics.serverCommands.inc({ command: command.type, outcome: 'no-server' });
        acked.push(entry.id);
        continue;
      }
      try {
        switch (command.type) {
          case 'put-instance':
            await client.putInstance(server.url, command.uuid, command.reporting);
            break;
          case 'delete-instance':
            await client.deleteInstance(server.url, command.uuid);
            break;
          case 'put-host':
            await client.putHost(server.url, command.reporting);
            break;
        }
        metrics.serverCommands.inc({ command: command.type, outcome: 'ok' });
        acked.push(entry.id);
      } catch (err) {
        metrics.serverCommands.inc({ command: command.type, outcome: 'error' });
        // A 4xx is the server refusing this command for good (the audit repairs what matters); else retried.
        if (/answered HTTP 4\d\d/.test(String(err))) {
          log.warn({ err: String(err), hostname: command.hostname, command }, 'server refused a command');
          return { acked, rejected: [entry.id] };
        }
        log.debug({ err: String(err), hostname: command.hostname, command }, 'server command failed; retried');
        if (acked.length === 0) throw err;
        break;
      }
    }
    return { acked };
  }
}
