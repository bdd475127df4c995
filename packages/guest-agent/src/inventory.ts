/**
 * The agent's inventory of hosts, guest-servers and instances, with the update rules of daemons §6.2.
 * An Inventory is a working copy ("draft") of the reducer's readonly AgentState (agent-state.ts): the
 * reducer opens one per step, applies rules through these methods (records are frozen values, replaced,
 * never changed in place), and `snapshot()` returns the next state. Commands for guest-servers are data.
 * Every table is bounded (no fixed 500-host cap: daemons §9 item 25; the bounds are options).
 */
import { DEFAULT_CORRECTIVE_ACTION, type ReportingState } from '@guesthb/protocol';
import { onOff, ZERO_TIMEOUTS } from './instance-rules.js';
import {
  DEFAULT_INVENTORY_LIMITS, emptyAgentState, type AgentState, type Host, type Instance, type InventoryLimits,
  type DurableRecord, type InventoryReader, type PendingVote, type ServerRecord, type Told, type Tombstone,
} from './agent-state.js';
import type { PMap } from './pmap.js';

/** The journal key of an instance's told alarm of one kind. */
export const alarmKey = (uuid: string, kind: 'alarm-failed' | 'alarm-unhealthy'): string => `a:${uuid}:${kind === 'alarm-failed' ? 'f' : 'u'}`;

export {
  DEFAULT_INVENTORY_LIMITS, type Host, type Instance, type InventoryLimits, type InventoryReader, type NoticeTimeouts, type ServerRecord,
} from './agent-state.js';

/** What the agent must tell a guest-server (peer API); performed by the server commander. */
export type ServerCommand =
  | { readonly type: 'put-instance'; readonly hostname: string; readonly uuid: string; readonly reporting: ReportingState }
  | { readonly type: 'delete-instance'; readonly hostname: string; readonly uuid: string }
  | { readonly type: 'put-host'; readonly hostname: string; readonly reporting: ReportingState };

export type AddHostResult = 'created' | 'exists' | 'updated' | 'full';
export type AddInstanceResult =
  | { readonly ok: true; readonly commands: readonly ServerCommand[] }
  | { readonly ok: false; readonly reason: 'unknown-host' | 'full' };


export { actionTimeout, guestInfoPatch, onOff, SERVER_DEFAULT_TIMEOUTS, ZERO_TIMEOUTS } from './instance-rules.js';

export class Inventory implements InventoryReader {
  readonly limits: InventoryLimits;
  #hosts: PMap<Host>;
  #servers: PMap<ServerRecord>;
  #instances: PMap<Instance>;
  #told: PMap<Told>;
  #votes: PMap<PendingVote>;
  #tombstones: PMap<Tombstone>;
  /** Journal writes caused by this draft (durable tables: alarms told, votes, tombstones, action results). */
  readonly #writes = new Map<string, DurableRecord | undefined>();
  #journaling = true;

  /** A draft of `from` (default: an empty state with these limits). */
  constructor(limitsOrState: InventoryLimits | AgentState = DEFAULT_INVENTORY_LIMITS) {
    const state = 'hosts' in limitsOrState ? limitsOrState : emptyAgentState(limitsOrState);
    this.limits = state.limits;
    this.#hosts = state.hosts;
    this.#servers = state.servers;
    this.#instances = state.instances;
    this.#told = state.told;
    this.#votes = state.votes;
    this.#tombstones = state.tombstones;
  }

  /** The state as it is now (the drafts' tables are persistent maps: this copies nothing). */
  snapshot(): AgentState {
    return {
      limits: this.limits, hosts: this.#hosts, servers: this.#servers, instances: this.#instances,
      told: this.#told, votes: this.#votes, tombstones: this.#tombstones,
    };
  }

  /** The journal writes this draft made (key → record, undefined = remove), in order; clears them. */
  takeWrites(): [string, DurableRecord | undefined][] {
    const writes = [...this.#writes];
    this.#writes.clear();
    return writes;
  }

  /** Runs `fn` without journaling (restoring). */
  withoutJournal(fn: () => void): void {
    this.#journaling = false;
    try {
      fn();
    } finally {
      this.#journaling = true;
    }
  }

  #write(key: string, record: DurableRecord | undefined): void {
    if (this.#journaling) this.#writes.set(key, record);
  }

  get hostCount(): number { return this.#hosts.size; }
  get instanceCount(): number { return this.#instances.size; }

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

  updateHost(host: Host, patch: Partial<Omit<Host, 'hostname'>>): Host {
    const next: Host = Object.freeze({ ...host, ...patch });
    this.#setHost(next);
    return next;
  }

  updateInstance(inst: Instance, patch: Partial<Omit<Instance, 'uuid'>>): Instance {
    const next: Instance = Object.freeze({ ...inst, ...patch });
    this.#setInstance(next);
    return next;
  }

  // What the VIM was last told, pending votes and tombstones (issue 12): read and replaced by the reducer rules.
  told(uuid: string): Told | undefined {
    return this.#told.get(uuid);
  }

  setTold(uuid: string, told: Told | undefined): void {
    const before = this.#told.get(uuid);
    if (before?.failed !== told?.failed) this.#write(alarmKey(uuid, 'alarm-failed'), told?.failed === undefined ? undefined : { type: 'alarm', uuid, alarm: told.failed });
    if (before?.unhealthy !== told?.unhealthy) this.#write(alarmKey(uuid, 'alarm-unhealthy'), told?.unhealthy === undefined ? undefined : { type: 'alarm', uuid, alarm: told.unhealthy });
    this.#told = told === undefined || (told.service === undefined && told.failed === undefined && told.unhealthy === undefined)
      ? this.#told.delete(uuid) : this.#told.set(uuid, Object.freeze(told));
  }

  vote(uuid: string): PendingVote | undefined {
    return this.#votes.get(uuid);
  }

  votes(): IterableIterator<PendingVote> {
    return this.#votes.values();
  }

  setVote(uuid: string, vote: PendingVote | undefined): void {
    if (vote !== undefined || this.#votes.has(uuid)) this.#write(`v:${uuid}`, vote === undefined ? undefined : { type: 'vote', vote });
    this.#votes = vote === undefined ? this.#votes.delete(uuid) : this.#votes.set(uuid, Object.freeze(vote));
  }

  tombstone(uuid: string): Tombstone | undefined {
    return this.#tombstones.get(uuid);
  }

  tombstones(): IterableIterator<Tombstone> {
    return this.#tombstones.values();
  }

  get tombstoneCount(): number {
    return this.#tombstones.size;
  }

  setTombstone(uuid: string, tombstone: Tombstone | undefined): void {
    if (tombstone === undefined && !this.#tombstones.has(uuid)) return;
    this.#write(`t:${uuid}`, tombstone === undefined ? undefined : { type: 'tombstone', tombstone });
    if (tombstone !== undefined && !this.#tombstones.has(uuid)) this.#evictTombstones();
    this.#tombstones = tombstone === undefined ? this.#tombstones.delete(uuid) : this.#tombstones.set(uuid, Object.freeze(tombstone));
  }

  /** Hosts, instances and servers are journaled by what survives a restart (not audit flags or heartbeating). */
  #setHost(next: Host): void {
    const prev = this.#hosts.get(next.hostname);
    this.#hosts = this.#hosts.set(next.hostname, next);
    if (prev === undefined || prev.uuid !== next.uuid || prev.reporting !== next.reporting || prev.reportingFromVim !== next.reportingFromVim) {
      this.#write(`h:${next.hostname}`, { type: 'host', host: { uuid: next.uuid ?? null, hostname: next.hostname, reporting: next.reporting, reportingFromVim: next.reportingFromVim } });
    }
  }

  #setInstance(next: Instance): void {
    const prev = this.#instances.get(next.uuid);
    this.#instances = this.#instances.set(next.uuid, next);
    if (prev === undefined || prev.hostname !== next.hostname || prev.reporting !== next.reporting || prev.fromServer !== next.fromServer) {
      this.#write(`i:${next.uuid}`, { type: 'instance', instance: { uuid: next.uuid, hostname: next.hostname, reporting: next.reporting, fromServer: next.fromServer } });
    }
  }

  #dropInstance(uuid: string): void {
    if (!this.#instances.has(uuid)) return;
    this.#instances = this.#instances.delete(uuid);
    this.#write(`i:${uuid}`, undefined);
  }

  /** Back from the journal: an instance is unconfirmed (audit B of its host removes it if the VIM no longer lists it). */
  restoreRecord(record: DurableRecord): void {
    switch (record.type) {
      case 'host':
        this.#setHost(Object.freeze({
          uuid: record.host.uuid ?? undefined, hostname: record.host.hostname, reporting: record.host.reporting, reportingFromVim: record.host.reportingFromVim,
          listedByVim: false, gotHostState: false, gotInstances: false, vimSyncedAtMs: undefined,
        }));
        break;
      case 'instance':
        this.#setInstance(Object.freeze({
          uuid: record.instance.uuid, hostname: record.instance.hostname, reporting: record.instance.reporting, heartbeating: false,
          correctiveAction: DEFAULT_CORRECTIVE_ACTION, timeouts: ZERO_TIMEOUTS, fromServer: true, lastEventAtMs: undefined,
        }));
        break;
      case 'server':
        this.#servers = this.#servers.set(record.server.hostname, Object.freeze({ ...record.server, lastContactMs: 0 }));
        break;
      case 'alarm': case 'vote': case 'tombstone':
        break; // the reducer's tables (agent-reducer.ts restore)
    }
  }

  /** Keeps the tombstone table under its bound: the oldest goes first. */
  #evictTombstones(): void {
    const max = this.limits.maxTombstones ?? DEFAULT_INVENTORY_LIMITS.maxTombstones ?? 20_000;
    while (this.#tombstones.size >= max && this.#tombstones.size > 0) {
      let oldest: Tombstone | undefined;
      for (const t of this.#tombstones.values()) if (oldest === undefined || t.atMs < oldest.atMs) oldest = t;
      if (oldest === undefined) return;
      this.setTombstone(oldest.uuid, undefined);
    }
  }

  /**
   * Creates a host (H1 and the other host calls: there is no mtcAgent here). A known hostname with a new
   * uuid is updated (a reinstalled host); the original ignored repeats (daemons §9 item 19).
   */
  addHost(uuid: string | undefined, hostname: string, options: { readonly reportingFromVim?: boolean } = {}): AddHostResult {
    const existing = this.#hosts.get(hostname);
    if (existing !== undefined) {
      if (existing.uuid === uuid || uuid === undefined) return 'exists';
      this.updateHost(existing, { uuid, gotHostState: false, gotInstances: false, vimSyncedAtMs: undefined, listedByVim: false });
      return 'updated';
    }
    if (this.#hosts.size >= this.limits.maxHosts) return 'full';
    this.#setHost(Object.freeze({
      uuid, hostname, reporting: false, reportingFromVim: options.reportingFromVim ?? true, listedByVim: false,
      gotHostState: false, gotInstances: false, vimSyncedAtMs: undefined,
    }));
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
    this.updateHost(host, { reporting: on, reportingFromVim: true });
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
   * Never for a tombstoned (deleted) instance: a late event must not bring it back (issue 12 item 6).
   */
  learnInstance(hostname: string, uuid: string, reporting: boolean): Instance | undefined {
    if (this.#tombstones.has(uuid)) return undefined;
    const host = this.#hosts.get(hostname) ?? this.learnHost(hostname);
    if (host === undefined || this.#instances.size >= this.limits.maxInstances) return undefined;
    const inst: Instance = Object.freeze({
      uuid, hostname, reporting, heartbeating: false, correctiveAction: DEFAULT_CORRECTIVE_ACTION,
      timeouts: ZERO_TIMEOUTS, fromServer: true, lastEventAtMs: undefined,
    });
    this.#setInstance(inst);
    return inst;
  }

  /**
   * Audit B succeeded for this host: the host may now have unknown instances deleted on its server, and
   * instances learned from the server that the VIM does not list are removed (and deleted there).
   */
  confirmListed(host: Host, listed: ReadonlySet<string>, nowMs?: number): ServerCommand[] {
    this.updateHost(host, { listedByVim: true });
    const commands: ServerCommand[] = [];
    for (const inst of this.instancesOn(host.hostname)) {
      if (!inst.fromServer || listed.has(inst.uuid)) continue;
      commands.push(...(this.deleteInstance(inst.uuid, nowMs) ?? []));
    }
    return commands;
  }

  /**
   * add_inst (daemons §6.2): on another host → delete there and add here; already here → reporting is
   * updated when `reporting` is given (the original's self-comparison bug made that branch dead, §9 item 20).
   * The VIM naming an instance lifts its tombstone (it was re-created).
   */
  addInstance(hostname: string, uuid: string, reporting: boolean | undefined): AddInstanceResult {
    if (!this.#hosts.has(hostname)) return { ok: false, reason: 'unknown-host' };
    const existing = this.#instances.get(uuid);
    if (existing?.hostname === hostname) {
      const confirmed = this.updateInstance(existing, { fromServer: false }); // the VIM names it: confirmed
      if (reporting === undefined || reporting === confirmed.reporting) return { ok: true, commands: [] };
      this.updateInstance(confirmed, { reporting });
      return { ok: true, commands: [{ type: 'put-instance', hostname, uuid, reporting: onOff(reporting) }] };
    }
    const commands: ServerCommand[] = [];
    if (existing !== undefined) {
      commands.push({ type: 'delete-instance', hostname: existing.hostname, uuid });
      this.#dropInstance(uuid);
    } else if (this.#instances.size >= this.limits.maxInstances) {
      return { ok: false, reason: 'full' };
    }
    this.setTombstone(uuid, undefined);
    const inst: Instance = Object.freeze({
      uuid, hostname, reporting: reporting ?? false, heartbeating: false,
      correctiveAction: DEFAULT_CORRECTIVE_ACTION, timeouts: ZERO_TIMEOUTS, fromServer: false, lastEventAtMs: undefined,
    });
    this.#setInstance(inst);
    commands.push({ type: 'put-instance', hostname, uuid, reporting: onOff(inst.reporting) });
    return { ok: true, commands };
  }

  /** mod_inst (daemons §6.2): set reporting and always tell the server; moves or adds as needed. */
  modInstance(hostname: string, uuid: string, reporting: boolean): AddInstanceResult {
    const existing = this.#instances.get(uuid);
    if (existing?.hostname === hostname && this.#hosts.has(hostname)) {
      this.updateInstance(existing, { reporting, fromServer: false });
      return { ok: true, commands: [{ type: 'put-instance', hostname, uuid, reporting: onOff(reporting) }] };
    }
    return this.addInstance(hostname, uuid, reporting);
  }

  /** del_inst (daemons §6.2); undefined when unknown. Leaves a tombstone when `nowMs` is given. */
  deleteInstance(uuid: string, nowMs?: number): ServerCommand[] | undefined {
    const inst = this.#instances.get(uuid);
    if (inst === undefined) return undefined;
    this.#dropInstance(uuid);
    if (nowMs !== undefined) this.setTombstone(uuid, { uuid, hostname: inst.hostname, atMs: nowMs });
    // What the VIM was told goes with it (bounded under churn), except alarms it has not received yet.
    const told = this.#told.get(uuid);
    if (told !== undefined) this.setTold(uuid, { failed: told.failed?.pending === true ? told.failed : undefined, unhealthy: told.unhealthy?.pending === true ? told.unhealthy : undefined });
    return [{ type: 'delete-instance', hostname: inst.hostname, uuid }];
  }

  /**
   * Records a server's registration. 'new' or 'restarted' means the agent must push its state (§3.7
   * MONITOR_READY). Bounded like the host table.
   */
  registerServer(hostname: string, url: string, bootId: string, nowMs: number): 'new' | 'restarted' | 'same' | 'full' {
    const existing = this.#servers.get(hostname);
    if (existing === undefined) {
      if (this.#servers.size >= this.limits.maxHosts) return 'full';
      this.#servers = this.#servers.set(hostname, Object.freeze({ hostname, url, bootId, lastContactMs: nowMs }));
      this.#write(`s:${hostname}`, { type: 'server', server: { hostname, url, bootId } });
      return 'new';
    }
    const changed = existing.bootId !== bootId || existing.url !== url;
    this.#servers = this.#servers.set(hostname, Object.freeze({ hostname, url, bootId, lastContactMs: nowMs }));
    if (changed) this.#write(`s:${hostname}`, { type: 'server', server: { hostname, url, bootId } });
    return changed ? 'restarted' : 'same';
  }

  touchServer(hostname: string, nowMs: number): void {
    const server = this.#servers.get(hostname);
    if (server !== undefined) this.#servers = this.#servers.set(hostname, Object.freeze({ ...server, lastContactMs: nowMs }));
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

