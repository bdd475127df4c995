/**
 * Channel discovery (daemons §1.1): directory events from the watcher plus the periodic search audit,
 * turned into channelFound / channelRemoved on the instance table. It owns the watcher and the one audit
 * timer (STYLE.md R5, R13); the names are filtered here with parseChannelName.
 */
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { CHANNEL_ALT_PREFIX, CHANNEL_SUFFIX, channelFileName, parseChannelName, type Clock, type TimerHandle } from '@guesthb/protocol';
import { RefusalLog, inspectChannel, listChannelDir, type ChannelDirWatcher, type WatchChannelDir } from './channel-watcher.js';
import type { GuestServerConfig } from './config.js';
import type { InstanceTable } from './instance-table.js';

export interface ChannelDiscoveryDeps {
  /** Read at each use: a reload changes the audit period at once. */
  readonly config: () => Pick<GuestServerConfig, 'channelDir' | 'searchAuditSecs'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly instances: InstanceTable;
  readonly watchChannelDir: WatchChannelDir;
}

export class ChannelDiscovery {
  readonly #deps: ChannelDiscoveryDeps;
  #watcher: ChannelDirWatcher | undefined;
  /** The last attempt to watch failed (logged once until it works). */
  #watchFailed = false;
  #auditTimer: TimerHandle | undefined;
  #started = false;
  #closing: Promise<void> | undefined;
  readonly #refusals: RefusalLog;

  constructor(deps: ChannelDiscoveryDeps) {
    this.#deps = deps;
    this.#refusals = new RefusalLog(deps.log.child({ component: 'discovery' }));
  }

  /** Channel names refused so far (symlinks, non-sockets). */
  get refusedCount(): number {
    return this.#refusals.count;
  }

  /** Watches the directory (or logs why not), then runs the start-up scan, which arms the audit. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#watch();
    await this.#searchAudit();
  }

  /**
   * Starts the watcher; on failure (the directory does not exist yet: libvirt not started) the search audit
   * retries at each pass, and a watch lost later (the directory removed) is restarted the same way.
   */
  async #watch(): Promise<void> {
    const { channelDir } = this.#deps.config();
    try {
      const watcher = await this.#deps.watchChannelDir(channelDir, {
        accepts: isChannelName,
        onAdded: (path) => this.#onChannelAdded(path),
        onRemoved: (path) => this.#onChannelRemoved(path),
        onRefused: (path, what) => this.#refusals.refuse(path, what),
        onLost: () => {
          if (this.#watcher === watcher) this.#watcher = undefined;
          this.#watchFailed = true;
          void watcher.close().catch(() => undefined);
        },
      }, this.#deps.log.child({ component: 'watcher' }));
      if (this.#closing !== undefined) {
        await watcher.close();
        return;
      }
      this.#watcher = watcher;
      if (this.#watchFailed) this.#deps.log.info({ channelDir }, 'watching the channel directory again');
      this.#watchFailed = false;
    } catch (err) {
      if (!this.#watchFailed) this.#deps.log.error({ err, channelDir }, 'cannot watch the channel directory; relying on the search audit (retried at each pass)');
      this.#watchFailed = true;
    }
  }

  /** Idempotent: the audit timer, then the watcher. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  /** Restarts the audit period (after a reload). */
  rearm(): void {
    this.#armAudit();
  }

  /** Looks for a channel file of `uuid` under either name pattern and connects to the first found. */
  async findChannel(uuid: string): Promise<void> {
    const dir = this.#deps.config().channelDir;
    for (const name of [channelFileName(uuid), `${CHANNEL_ALT_PREFIX}${uuid}${CHANNEL_SUFFIX}`]) {
      const path = join(dir, name);
      const entry = await inspectChannel(path);
      if (entry.kind === 'socket') {
        this.#onChannelAdded(path);
        return;
      }
      if (entry.kind === 'refused') this.#refusals.refuse(path, entry.what);
    }
  }

  #onChannelAdded(path: string): void {
    const parsed = parseChannelName(basename(path));
    if (parsed === undefined || this.#closing !== undefined) return;   // other names are ignored (daemons §1.1)
    this.#refusals.forget(path);
    const instances = this.#deps.instances;
    const existing = instances.get(parsed.uuid);
    const link = existing?.state.link.kind;
    if (existing !== undefined && (link === 'connected' || link === 'connecting')) {
      // Already on it (start-up scan and watcher overlap). A second file for the same uuid (the other name
      // pattern) does not take over a live channel; it is used if the current one goes away.
      if (existing.channelPath === path || existing.channelPath !== undefined) return;
    }
    const session = existing ?? instances.create(parsed.uuid);
    if (session === undefined) return;
    // Connect to the file actually found, whichever pattern (daemons §9 item 1).
    session.channelFound(path);
  }

  #onChannelRemoved(path: string): void {
    const parsed = parseChannelName(basename(path));
    if (parsed === undefined) return;
    const session = this.#deps.instances.get(parsed.uuid);
    if (session === undefined) return;
    session.channelRemoved(path);
    this.#deps.instances.forgetIfOrphan(session);
    // A file of the other name pattern may still be there for this uuid: use it at once.
    void this.findChannel(parsed.uuid);
  }

  /** Start-up scan and the periodic safety net (daemons §1.1 item 3): adds what is new, removes what vanished. */
  async #searchAudit(): Promise<void> {
    const { channelDir } = this.#deps.config();
    if (this.#watcher === undefined && this.#closing === undefined && this.#watchFailed) await this.#watch();
    let paths: string[];
    try {
      paths = await listChannelDir(channelDir, isChannelName, (path, what) => this.#refusals.refuse(path, what));
    } catch (err) {
      this.#deps.log.warn({ err, channelDir }, 'search audit: cannot list the channel directory');
      paths = [];
    }
    if (this.#closing !== undefined) return;
    const present = new Set(paths);
    for (const path of paths) this.#onChannelAdded(path);
    for (const session of [...this.#deps.instances.values()]) {
      const path = session.channelPath;
      if (path !== undefined && !present.has(path)) {
        session.channelRemoved(path);
        this.#deps.instances.forgetIfOrphan(session);
      }
    }
    this.#armAudit();
  }

  #armAudit(): void {
    this.#disarmAudit();
    if (this.#closing !== undefined || !this.#started) return;
    this.#auditTimer = this.#deps.clock.setTimeout(() => {
      this.#auditTimer = undefined;
      void this.#searchAudit();
    }, this.#deps.config().searchAuditSecs * 1000);
  }

  #disarmAudit(): void {
    if (this.#auditTimer !== undefined) this.#deps.clock.clearTimeout(this.#auditTimer);
    this.#auditTimer = undefined;
  }

  async #doClose(): Promise<void> {
    this.#disarmAudit();
    await this.#watcher?.close().catch((err: unknown) => this.#deps.log.warn({ err }, 'watcher close failed'));
  }
}

/** The name filter of the watcher and the audit: the two channel name patterns (daemons §1.1). */
function isChannelName(name: string): boolean {
  return parseChannelName(name) !== undefined;
}
