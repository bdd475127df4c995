/**
 * One awd process: every watchdog of the config with its two nodes. Start order: notification
 * listeners, awd_node, then the timers; close in reverse (STYLE.md R13).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '@guesthb/protocol';
import type { AwdConfig, ChardevSpec, WatchdogSpec } from './config.js';
import { AwdError, AwdErrorCode } from './errors.js';
import type { EventSink } from './events.js';
import type { AwdMetrics } from './metrics.js';
import { Notifier, type NotifyConnection } from './notifier.js';
import type { ParsedScript } from './script.js';
import { SocketNode } from './socket-node.js';
import { Watchdog } from './watchdog.js';

export interface AwdDeps {
  readonly config: AwdConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: EventSink;
  readonly metrics?: AwdMetrics;
}

interface Instance {
  readonly spec: WatchdogSpec;
  readonly watchdog: Watchdog;
  readonly node: SocketNode;
  /** Only for a listening notification node; a connecting one is dialled per notification. */
  readonly notifyNode: SocketNode | undefined;
  readonly notifier: Notifier;
  /** The script in use (SIGHUP may replace it). */
  script: ParsedScript;
}

export class Awd {
  readonly #deps: AwdDeps;
  readonly #instances: Instance[];
  #closing: Promise<void> | undefined;

  constructor(deps: AwdDeps) {
    this.#deps = deps;
    this.#instances = deps.config.watchdogs.map((spec) => this.#build(spec));
  }

  get watchdogs(): readonly Watchdog[] {
    return this.#instances.map((i) => i.watchdog);
  }

  /** The awd_node of a watchdog (tests read its bound address). */
  node(watchdogId: string): SocketNode | undefined {
    return this.#instances.find((i) => i.spec.id === watchdogId)?.node;
  }

  get isClosing(): boolean {
    return this.#closing !== undefined;
  }

  async start(): Promise<void> {
    for (const i of this.#instances) await i.notifyNode?.start();
    for (const i of this.#instances) await i.node.start();
    for (const i of this.#instances) i.watchdog.start();
    this.#deps.log.info({ watchdogs: this.#instances.map((i) => i.spec.id) }, 'awd started');
  }

  /**
   * SIGHUP: new scripts (already read and parsed) replace the running ones, by watchdog id; a running
   * notification finishes with the script it started with. Returns the ids whose script changed.
   */
  updateScripts(watchdogs: readonly WatchdogSpec[]): string[] {
    const changed: string[] = [];
    for (const spec of watchdogs) {
      const instance = this.#instances.find((i) => i.spec.id === spec.id);
      if (instance === undefined || instance.script.text === spec.script.text) continue;
      instance.notifier.setScript(spec.script);
      instance.script = spec.script;
      changed.push(spec.id);
    }
    return changed;
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  status(): object {
    return {
      watchdogs: this.#instances.map((i) => ({
        ...i.watchdog.toJSON(),
        awdNode: i.node.toJSON(),
        notificationNode: i.notifyNode?.toJSON() ?? { id: i.spec.notificationNode.id, address: i.spec.notificationNode.address, role: 'connect per notification' },
        pulseIntervalMs: i.spec.pulseIntervalMs,
        timeoutMs: i.spec.timeoutMs,
        input: i.spec.input,
        notify: i.spec.notify,
      })),
    };
  }

  async #doClose(): Promise<void> {
    // Stop timers first so nothing fires mid-shutdown, then wait for a running notification.
    await Promise.all(this.#instances.map((i) => i.watchdog.close()));
    await Promise.all(this.#instances.map((i) => i.node.close()));
    await Promise.all(this.#instances.map((i) => i.notifyNode?.close()));
  }

  #build(spec: WatchdogSpec): Instance {
    const { clock, events, metrics } = this.#deps;
    const log = this.#deps.log.child({ watchdog: spec.id });
    // The node's callbacks need the watchdog, which needs the node as its pulse port.
    const ref: { watchdog?: Watchdog } = {};
    const nodeEvent = (node: ChardevSpec, up: boolean): void => {
      metrics?.nodeConnected(node.id, up);
      events.emit({ event: up ? 'connected' : 'disconnected', watchdog: spec.id, node: node.id });
    };
    const node = new SocketNode({
      spec: spec.awdNode,
      clock,
      log: log.child({ node: spec.awdNode.id }),
      onData: (chunk) => ref.watchdog?.receive(chunk),
      onConnected: () => nodeEvent(spec.awdNode, true),
      onDisconnected: () => {
        ref.watchdog?.disconnected();
        nodeEvent(spec.awdNode, false);
      },
    });
    const notifyNode = spec.notificationNode.server
      ? new SocketNode({ spec: spec.notificationNode, clock, log: log.child({ node: spec.notificationNode.id }) })
      : undefined;
    const notifier = new Notifier({
      policy: spec,
      clock,
      log: log.child({ node: spec.notificationNode.id }),
      open: () => (notifyNode === undefined ? dial(spec.notificationNode, spec.notifyTimeoutMs, clock) : current(notifyNode, spec.notificationNode.id)),
    });
    const watchdog = new Watchdog({
      id: spec.id,
      policy: spec,
      input: spec.input,
      server: spec.server,
      clock,
      log,
      port: node,
      events,
      notify: (signal) => notifier.notify(signal),
      ...(metrics === undefined ? {} : { metrics }),
    });
    ref.watchdog = watchdog;
    return { spec, watchdog, node, notifyNode, notifier, script: spec.script };
  }
}

function current(node: SocketNode, id: string): Promise<NotifyConnection> {
  const socket = node.socket;
  if (socket === undefined) return Promise.reject(new AwdError(AwdErrorCode.NOTIFY, `no peer connected to notification node '${id}'`));
  return Promise.resolve({ socket, owned: false });
}

/** A fresh connection per notification attempt, bounded by the notify timeout. */
function dial(spec: ChardevSpec, timeoutMs: number, clock: Clock): Promise<NotifyConnection> {
  return new Promise((resolve, reject) => {
    const address = spec.address;
    const socket = address.kind === 'unix' ? net.connect(address.path) : net.connect(address.port, address.host);
    const timer = clock.setTimeout(() => {
      socket.destroy();
      reject(new AwdError(AwdErrorCode.NOTIFY, `connect to '${spec.id}' timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve({ socket, owned: true });
    });
    socket.once('error', (err) => {
      clock.clearTimeout(timer);
      reject(new AwdError(AwdErrorCode.NOTIFY, `connect to '${spec.id}': ${err.message}`, { cause: err }));
    });
  });
}
