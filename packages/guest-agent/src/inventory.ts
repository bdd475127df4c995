/**
 * The agent's inventory of hosts, guest-servers and instances, with the update rules of daemons §6.2 as
 * methods that change the tables and return the commands for guest-servers as data (no I/O here).
 * Every table is bounded (no fixed 500-host cap: daemons §9 item 25; the bounds are options).
 */
import {
  DEFAULT_CORRECTIVE_ACTION, DEFAULT_NOTICE_SECS, DEFAULT_RESTART_SECS, noticeClassOf, toVocabulary, EVENT_TYPES,
  type CorrectiveAction, type InstanceInfo, type ReportingState,
} from '@guesthb/protocol';

export interface Host {
  /** Undefined for a host learned from its server's events: the VIM tells the uuid (H1/H2/H3/H5). */
  uuid: string | undefined;
  hostname: string;
  /** Host-level fault reporting (H2/H3, VIM host state). Gates loss alarms. */
  reporting: boolean;
  /**
   * `reporting` is the VIM's word (H1/H2/H3, audit A). False for a host learned after a restart (H5, a
   * server event): until the VIM's host state arrives, the server's own gate is trusted (its value is
   * adopted from the server audit, never pushed to it, and a loss the server sends passes the host gate).
   */
  reportingFromVim: boolean;
  /**
   * The VIM's instance list (audit B) succeeded for this host since the agent started (sticky; reset only
   * when the host's uuid changes). Until then the server audit deletes nothing on this host's server.
   */
  listedByVim: boolean;
  /** The VIM audit has the host's state / instance list (daemons §6.1). */
  gotHostState: boolean;
  gotInstances: boolean;
  /** Monotonic ms of the last VIM audit success, for periodic refresh. */
  vimSyncedAtMs: number | undefined;
}

export interface ServerRecord {
  hostname: string;
  url: string;
  bootId: string;
  /** Monotonic ms of the last event or successful query. */
  lastContactMs: number;
}

/** Notice timeouts as the decimal-second strings the VIM receives; "0" until the server reports (vim §3 item 5). */
export interface NoticeTimeouts {
  restart: string;
  shutdown: string;
  suspend: string;
  resume: string;
  vote: string;
}

export interface Instance {
  uuid: string;
  hostname: string;
  reporting: boolean;
  heartbeating: boolean;
  correctiveAction: CorrectiveAction;
  timeouts: NoticeTimeouts;
  /**
   * Learned from a server event (agent restart) and not yet confirmed by the VIM (I1, I2, audit B): the
   * server's reporting is adopted, and audit B of its host removes it if the VIM does not list it.
   */
  fromServer: boolean;
}

/** What the agent must tell a guest-server (peer API); performed by the server commander. */
export type ServerCommand =
  | { readonly type: 'put-instance'; readonly hostname: string; readonly uuid: string; readonly reporting: ReportingState }
  | { readonly type: 'delete-instance'; readonly hostname: string; readonly uuid: string }
  | { readonly type: 'put-host'; readonly hostname: string; readonly reporting: ReportingState };

export interface InventoryLimits {
  readonly maxHosts: number;
  readonly maxInstances: number;
}

export const DEFAULT_INVENTORY_LIMITS: InventoryLimits = { maxHosts: 10_000, maxInstances: 200_000 };

export type AddHostResult = 'created' | 'exists' | 'updated' | 'full';
export type AddInstanceResult =
  | { readonly ok: true; readonly commands: readonly ServerCommand[] }
  | { readonly ok: false; readonly reason: 'unknown-host' | 'full' };

const ZERO_TIMEOUTS: NoticeTimeouts = { restart: '0', shutdown: '0', suspend: '0', resume: '0', vote: '0' };
/** What a server reports before any init (daemons §3.6): used only by tests and documentation. */
export const SERVER_DEFAULT_TIMEOUTS: NoticeTimeouts = {
  restart: String(DEFAULT_RESTART_SECS), shutdown: String(DEFAULT_NOTICE_SECS), suspend: String(DEFAULT_NOTICE_SECS),
  resume: String(DEFAULT_NOTICE_SECS), vote: String(DEFAULT_NOTICE_SECS),
};

export const onOff = (on: boolean): ReportingState => (on ? 'enabled' : 'disabled');

export class Inventory {
  readonly #limits: InventoryLimits;
  readonly #hosts = new Map<string, Host>(); // by hostname
  readonly #servers = new Map<string, ServerRecord>(); // by hostname
  readonly #instances = new Map<string, Instance>(); // by uuid

  constructor(limits: InventoryLimits = DEFAULT_INVENTORY_LIMITS) {
    this.#limits = limits;
  }

  get hostCount(): number {
    return this.#hosts.size;
  }

  get instanceCount(): number {
    return this.#instances.size;
  }

  hosts(): IterableIterator<Host> {
    return this.#hosts.values();
  }

  instances(): IterableIterator<Instance> {
    return this.#instances.values();
  }

  hostByName(hostname: string): Host | undefined {
    return this.#hosts.get(hostname);
  }

  /** H5 matches the URL uuid against host uuid or hostname (daemons §4.2). */
  hostByUuidOrName(key: string): Host | undefined {
    const byName = this.#hosts.get(key);
    if (byName !== undefined) return byName;
    for (const host of this.#hosts.values()) if (host.uuid === key) return host;
    return undefined;
  }

  instance(uuid: string): Instance | undefined {
    return this.#instances.get(uuid);
  }

  instancesOn(hostname: string): Instance[] {
    return [...this.#instances.values()].filter((inst) => inst.hostname === hostname);
  }

  server(hostname: string): ServerRecord | undefined {
    return this.#servers.get(hostname);
  }

  /**
   * Creates a host (H1 and the other host calls: there is no mtcAgent here). A known hostname with a new
   * uuid is updated (a reinstalled host); the original ignored repeats (daemons §9 item 19).
   */
  addHost(uuid: string | undefined, hostname: string, options: { readonly reportingFromVim?: boolean } = {}): AddHostResult {
    const existing = this.#hosts.get(hostname);
    if (existing !== undefined) {
      if (existing.uuid === uuid || uuid === undefined) return 'exists';
      existing.uuid = uuid;
      existing.gotHostState = false;
      existing.gotInstances = false;
      existing.vimSyncedAtMs = undefined;
      existing.listedByVim = false;
      return 'updated';
    }
    if (this.#hosts.size >= this.#limits.maxHosts) return 'full';
    this.#hosts.set(hostname, {
      uuid, hostname, reporting: false, reportingFromVim: options.reportingFromVim ?? true, listedByVim: false,
      gotHostState: false, gotInstances: false, vimSyncedAtMs: undefined,
    });
    return 'created';
  }

  /**
   * A host named by a server event that the agent does not know (agent restart: the VIM does not repeat
   * H1): created by hostname, uuid unknown, the server's reporting gate trusted. Undefined when full.
   */
  learnHost(hostname: string): Host | undefined {
    if (this.addHost(undefined, hostname, { reportingFromVim: false }) === 'full') return undefined;
    return this.#hosts.get(hostname);
  }

  /** Host enable/disable (daemons §6.2), from the VIM: host reporting plus MOD_HOST to its server. */
  setHostReporting(host: Host, on: boolean): ServerCommand[] {
    host.reporting = on;
    host.reportingFromVim = true;
    return [{ type: 'put-host', hostname: host.hostname, reporting: onOff(on) }];
  }

  /**
   * The loss gate of the host (daemons §3.7): the VIM's host reporting, or, while the VIM has not spoken
   * since a restart, open: the server sends a loss only when its own host gate is open.
   */
  hostGateOpen(host: Host): boolean {
    return host.reportingFromVim ? host.reporting : true;
  }

  /**
   * An instance named by a server event that the agent does not know (agent restart): created on the
   * event's host (learned too if needed) with the server's reporting; no command (the server has it).
   */
  learnInstance(hostname: string, uuid: string, reporting: boolean): Instance | undefined {
    const host = this.#hosts.get(hostname) ?? this.learnHost(hostname);
    if (host === undefined || this.#instances.size >= this.#limits.maxInstances) return undefined;
    const inst: Instance = {
      uuid, hostname, reporting, heartbeating: false, correctiveAction: DEFAULT_CORRECTIVE_ACTION,
      timeouts: { ...ZERO_TIMEOUTS }, fromServer: true,
    };
    this.#instances.set(uuid, inst);
    return inst;
  }

  /**
   * Audit B succeeded for this host: the host may now have unknown instances deleted on its server, and
   * instances learned from the server that the VIM does not list are removed (and deleted there).
   */
  confirmListed(host: Host, listed: ReadonlySet<string>): ServerCommand[] {
    host.listedByVim = true;
    const commands: ServerCommand[] = [];
    for (const inst of this.instancesOn(host.hostname)) {
      if (!inst.fromServer || listed.has(inst.uuid)) continue;
      this.#instances.delete(inst.uuid);
      commands.push({ type: 'delete-instance', hostname: host.hostname, uuid: inst.uuid });
    }
    return commands;
  }

  /**
   * add_inst (daemons §6.2): on another host → delete there and add here; already here → reporting is
   * updated when `reporting` is given (the original's self-comparison bug made that branch dead, §9 item 20).
   */
  addInstance(hostname: string, uuid: string, reporting: boolean | undefined): AddInstanceResult {
    if (!this.#hosts.has(hostname)) return { ok: false, reason: 'unknown-host' };
    const existing = this.#instances.get(uuid);
    if (existing?.hostname === hostname) {
      existing.fromServer = false; // the VIM names it: confirmed
      if (reporting === undefined || reporting === existing.reporting) return { ok: true, commands: [] };
      existing.reporting = reporting;
      return { ok: true, commands: [{ type: 'put-instance', hostname, uuid, reporting: onOff(reporting) }] };
    }
    const commands: ServerCommand[] = [];
    if (existing !== undefined) {
      commands.push({ type: 'delete-instance', hostname: existing.hostname, uuid });
      this.#instances.delete(uuid);
    } else if (this.#instances.size >= this.#limits.maxInstances) {
      return { ok: false, reason: 'full' };
    }
    const inst: Instance = {
      uuid, hostname, reporting: reporting ?? false, heartbeating: false,
      correctiveAction: DEFAULT_CORRECTIVE_ACTION, timeouts: { ...ZERO_TIMEOUTS }, fromServer: false,
    };
    this.#instances.set(uuid, inst);
    commands.push({ type: 'put-instance', hostname, uuid, reporting: onOff(inst.reporting) });
    return { ok: true, commands };
  }

  /** mod_inst (daemons §6.2): set reporting and always tell the server; moves or adds as needed. */
  modInstance(hostname: string, uuid: string, reporting: boolean): AddInstanceResult {
    const existing = this.#instances.get(uuid);
    if (existing?.hostname === hostname && this.#hosts.has(hostname)) {
      existing.reporting = reporting;
      existing.fromServer = false;
      return { ok: true, commands: [{ type: 'put-instance', hostname, uuid, reporting: onOff(reporting) }] };
    }
    return this.addInstance(hostname, uuid, reporting);
  }

  /** del_inst (daemons §6.2); undefined when unknown. */
  deleteInstance(uuid: string): ServerCommand[] | undefined {
    const inst = this.#instances.get(uuid);
    if (inst === undefined) return undefined;
    this.#instances.delete(uuid);
    return [{ type: 'delete-instance', hostname: inst.hostname, uuid }];
  }

  /**
   * Records a server's registration. 'new' or 'restarted' means the agent must push its state (§3.7
   * MONITOR_READY). Bounded like the host table.
   */
  registerServer(hostname: string, url: string, bootId: string, nowMs: number): 'new' | 'restarted' | 'same' | 'full' {
    const existing = this.#servers.get(hostname);
    if (existing === undefined) {
      if (this.#servers.size >= this.#limits.maxHosts) return 'full';
      this.#servers.set(hostname, { hostname, url, bootId, lastContactMs: nowMs });
      return 'new';
    }
    const changed = existing.bootId !== bootId || existing.url !== url;
    existing.url = url;
    existing.bootId = bootId;
    existing.lastContactMs = nowMs;
    return changed ? 'restarted' : 'same';
  }

  touchServer(hostname: string, nowMs: number): void {
    const server = this.#servers.get(hostname);
    if (server !== undefined) server.lastContactMs = nowMs;
  }

  /** Everything a (re)started server must hold: host reporting and every instance of its host. */
  stateFor(hostname: string): ServerCommand[] {
    const host = this.#hosts.get(hostname);
    if (host === undefined) return [];
    // A host whose reporting the VIM has not given since a restart: the server's gate stands (not pushed).
    const hostCommands: ServerCommand[] = host.reportingFromVim ? [{ type: 'put-host', hostname, reporting: onOff(host.reporting) }] : [];
    return [
      ...hostCommands,
      ...this.instancesOn(hostname).map((inst): ServerCommand => ({ type: 'put-instance', hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) })),
    ];
  }
}

/** Copies a server's view of the guest (corrective action, notice timeouts) onto the agent's record. */
export function adoptGuestInfo(inst: Instance, info: InstanceInfo): void {
  inst.correctiveAction = info['repair-action'];
  inst.timeouts = {
    restart: info['restart-to'], shutdown: info['shutdown-to'], suspend: info['suspend-to'],
    resume: info['resume-to'], vote: info['vote-to'],
  };
}

/**
 * The timeout string of a vote/notify reply (vim §1.2, daemons §8.2): "0" when not heartbeating; vote →
 * vote-to; notify → the notice of the event's class, resize included (daemons §9 item 13); unknown → "0".
 */
export function actionTimeout(inst: Instance, command: 'vote' | 'notify', action: string): string {
  if (!inst.heartbeating) return '0';
  if (command === 'vote') return inst.timeouts.vote;
  const notice = noticeClassOf(toVocabulary(EVENT_TYPES, action, 'unknown'));
  return notice === undefined ? '0' : inst.timeouts[notice];
}
