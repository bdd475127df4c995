/**
 * The agent↔server audit rules (daemons §6.1 "QRY_INST reply handling"), applied to one server's
 * GET /v1/instances reply as a rule of the reducer, plus the level-triggered alarm rule of issue 12 item 5:
 * an instance whose server reports it failed or unhealthy, in a fault episode the VIM was not told of,
 * gets its alarm now (whatever event path lost it). Updates the inventory draft and returns what to send.
 */
import type { InstanceInfo, InstanceQueryReply } from '@guesthb/protocol';
import { episodeTold, type Told } from './agent-state.js';
import { guestInfoPatch, onOff, type Inventory, type ServerCommand } from './inventory.js';
import { episodeOf, serviceEventOf } from './server-events.js';
import type { VimEvent } from './vim-events.js';

export interface Reconciliation {
  readonly vim: readonly VimEvent[];
  readonly commands: readonly ServerCommand[];
}

export function reconcileServer(inventory: Inventory, hostname: string, reply: InstanceQueryReply, nowMs: number, queriedAtMs = nowMs): Reconciliation {
  const host = inventory.hostByName(hostname);
  if (host === undefined) return { vim: [], commands: [] };
  const commands: ServerCommand[] = [];
  const vim: VimEvent[] = [];
  // A server that restarted between two audits: same as its server-ready (push all state).
  const registered = inventory.registerServer(hostname, reply.url, reply.bootId, nowMs);
  if (registered === 'new' || registered === 'restarted') return { vim, commands: inventory.stateFor(hostname) };
  // Host reporting: the VIM's value wins; while the VIM has not given it (restart), the server's is adopted.
  if (!host.reportingFromVim) inventory.updateHost(host, { reporting: reply.hostReporting === 'enabled' });
  else if (reply.hostReporting !== onOff(host.reporting)) commands.push({ type: 'put-host', hostname, reporting: onOff(host.reporting) });
  const gateOpen = inventory.hostGateOpen(inventory.hostByName(hostname) ?? host);
  const seen = new Set<string>();
  for (const info of reply.instances) {
    seen.add(info.uuid);
    // Unknown while the VIM has not listed this host since the agent started (agent restart): learned from
    // the server as from its events, so the level-triggered rules below apply to it too (audit B removes
    // it later if the VIM does not list it). Never a tombstoned instance.
    const known = inventory.instance(info.uuid)
      ?? (host.listedByVim ? undefined : inventory.learnInstance(hostname, info.uuid, info.reporting === 'enabled'));
    // Unknown to the agent, or registered to another host: delete it on this server, but only once the
    // VIM's instance list of this host (audit B) arrived since the agent started; before that, "unknown"
    // may only mean "not yet re-learned" (agent restart) and deleting would wipe the server's monitoring.
    // A tombstoned (deleted) instance is deleted there at once.
    if (known?.hostname !== hostname) {
      if (host.listedByVim || (known === undefined && inventory.tombstone(info.uuid) !== undefined)) commands.push({ type: 'delete-instance', hostname, uuid: info.uuid });
      continue;
    }
    // An event of this instance arrived after the query was sent: the reply is older than what we know.
    const stale = known.lastEventAtMs !== undefined && known.lastEventAtMs >= queriedAtMs;
    let inst = inventory.updateInstance(known, {
      ...guestInfoPatch(info), ...(known.fromServer ? { reporting: info.reporting === 'enabled' } : {}),
    });
    // Reporting differs → the agent's value wins.
    if (info.reporting !== onOff(inst.reporting)) commands.push({ type: 'put-instance', hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) });
    if (stale) continue;
    // Heartbeating differs → the server's value wins, and the VIM hears of it.
    const heartbeating = info.heartbeating === 'enabled';
    if (heartbeating !== inst.heartbeating) inst = inventory.updateInstance(inst, { heartbeating });
    // Sent when it differs from what the VIM was last told (or the agent does not know what it was told,
    // after a restart): level-triggered, and never a repeat of what an event already told (issue 12 point 8).
    const service = serviceEventOf(inst);
    if (!sameService(inventory.told(inst.uuid)?.service, service)) vim.push(service);
    if (gateOpen && inst.reporting) vim.push(...conditionAlarms(inventory, info));
  }
  // New rule: an instance the agent holds for this host but the server lacks is pushed again.
  for (const inst of inventory.instancesOn(hostname)) {
    if (!seen.has(inst.uuid)) commands.push({ type: 'put-instance', hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) });
  }
  return { vim, commands };
}

/**
 * The alarm of a failed/unhealthy condition the VIM has not been told (issue 12 item 5). The episode is the
 * server's conditionEventId (the id of the loss/ill-health event that reported it, so an alarm already sent
 * by the event path is not repeated). A server without condition fields: nothing (the event path only).
 * A server without an event id: the condition start time names the episode, and a failed instance the VIM
 * was told failed in any episode is not told again.
 */
function conditionAlarms(inventory: Inventory, info: InstanceInfo): VimEvent[] {
  const c = info; // condition fields are optional: an older guest-server has none
  if (c.condition !== 'failed' && c.condition !== 'unhealthy') return [];
  const told = inventory.told(info.uuid);
  const kind = c.condition === 'failed' ? 'alarm-failed' : 'alarm-unhealthy';
  const previous = kind === 'alarm-failed' ? told?.failed : told?.unhealthy;
  const id = c.conditionEventId ?? (c.conditionSinceMs === undefined ? undefined : `since:${c.conditionSinceMs}`);
  const episode = id === undefined ? undefined : episodeOf(info.hostname, id);
  if (episode === undefined || episodeTold(previous, episode) || (c.conditionEventId === undefined && previous !== undefined)) return [];
  const repairAction = c.lossAction ?? info['repair-action'];
  if (repairAction === 'none' || repairAction === 'unknown') return [];
  return [{ kind, uuid: info.uuid, hostname: info.hostname, repairAction, episode }];
}

/** The service event equals what the VIM was last told. */
export function sameService(told: Told['service'], event: VimEvent): boolean {
  return event.kind === 'service' && told !== undefined && told.hostname === event.hostname && told.state === event.state
    && told.status === event.status && told.restartTimeout === event.restartTimeout;
}
