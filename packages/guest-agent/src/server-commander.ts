/**
 * Performs ServerCommands toward guest-servers: one chain per hostname so the server sees them in order,
 * a bounded backlog per host (the audit repairs anything dropped or failed: daemons §6.1), never awaited
 * by the caller. A host whose server has not registered yet is skipped: its server-ready pushes the state.
 */
import type { Logger } from 'pino';
import type { Inventory, ServerCommand } from './inventory.js';
import type { AgentMetrics } from './metrics.js';
import type { ServerClient } from './server-client.js';

export interface ServerCommanderDeps {
  readonly inventory: Inventory;
  readonly client: ServerClient;
  readonly log: Logger;
  readonly metrics: Pick<AgentMetrics, 'serverCommands'>;
  readonly maxBacklogPerHost: number;
}

interface Chain {
  tail: Promise<void>;
  pending: number;
}

export class ServerCommander {
  readonly #deps: ServerCommanderDeps;
  readonly #chains = new Map<string, Chain>();
  #closed = false;

  constructor(deps: ServerCommanderDeps) {
    this.#deps = deps;
  }

  submit(commands: readonly ServerCommand[]): void {
    for (const command of commands) this.#submitOne(command);
  }

  /** Resolves when every chain has drained (tests, graceful close). */
  async whenIdle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()].map((c) => c.tail));
  }

  close(): void {
    this.#closed = true;
  }

  #submitOne(command: ServerCommand): void {
    const { metrics, log } = this.#deps;
    if (this.#closed) return;
    let chain = this.#chains.get(command.hostname);
    if (chain === undefined) {
      chain = { tail: Promise.resolve(), pending: 0 };
      this.#chains.set(command.hostname, chain);
    }
    if (chain.pending >= this.#deps.maxBacklogPerHost) {
      metrics.serverCommands.inc({ command: command.type, outcome: 'dropped' });
      log.warn({ hostname: command.hostname, command: command.type }, 'server command backlog full: dropped (the audit repairs it)');
      return;
    }
    chain.pending++;
    const owned = chain;
    owned.tail = owned.tail.then(() => this.#perform(command)).finally(() => {
      owned.pending--;
      if (owned.pending === 0 && this.#chains.get(command.hostname) === owned) this.#chains.delete(command.hostname);
    });
  }

  async #perform(command: ServerCommand): Promise<void> {
    const { inventory, client, metrics, log } = this.#deps;
    const server = inventory.server(command.hostname);
    if (server === undefined || this.#closed) {
      metrics.serverCommands.inc({ command: command.type, outcome: 'no-server' });
      return;
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
    } catch (err) {
      metrics.serverCommands.inc({ command: command.type, outcome: 'error' });
      log.warn({ err, hostname: command.hostname, command }, 'server command failed (the audit repairs it)');
    }
  }
}
