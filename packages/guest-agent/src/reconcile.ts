/**
 * The agent↔server audit rules (daemons §6.1 "QRY_INST reply handling"), applied to one server's
 * GET /v1/instances reply. Updates the inventory and returns what to send. No I/O here.
 */
import type { InstanceQueryReply } from '@guesthb/protocol';
import { adoptGuestInfo, onOff, type Inventory, type ServerCommand } from './inventory.js';
import { serviceEventOf } from './server-events.js';
import type { VimEvent } from './vim-events.js';

export interface Reconciliation {
  readonly vim: readonly VimEvent[];
  readonly commands: readonly ServerCommand[];
}

export function reconcileServer(inventory: Inventory, hostname: string, reply: InstanceQueryReply, nowMs: number): Reconciliation {
  const host = inventory.hostByName(hostname);
  if (host === undefined) return { vim: [], commands: [] };
  const commands: ServerCommand[] = [];
  const vim: VimEvent[] = [];
  // A server that restarted between two audits: same as its server-ready (push all state).
  const registered = inventory.registerServer(hostname, reply.url, reply.bootId, nowMs);
  if (registered === 'new' || registered === 'restarted') return { vim, commands: inventory.stateFor(hostname) };
  // Host reporting: the VIM's value wins; while the VIM has not given it (restart), the server's is adopted.
  if (!host.reportingFromVim) host.reporting = reply.hostReporting === 'enabled';
  else if (reply.hostReporting !== onOff(host.reporting)) commands.push({ type: 'put-host', hostname, reporting: onOff(host.reporting) });
  const seen = new Set<string>();
  for (const info of reply.instances) {
    seen.add(info.uuid);
    const inst = inventory.instance(info.uuid);
    // Unknown to the agent, or registered to another host: delete it on this server, but only once the
    // VIM's instance list of this host (audit B) arrived since the agent started; before that, "unknown"
    // may only mean "not yet re-learned" (agent restart) and deleting would wipe the server's monitoring.
    if (inst?.hostname !== hostname) {
      if (host.listedByVim) commands.push({ type: 'delete-instance', hostname, uuid: info.uuid });
      continue;
    }
    adoptGuestInfo(inst, info);
    if (inst.fromServer) inst.reporting = info.reporting === 'enabled';
    // Reporting differs → the agent's value wins.
    if (info.reporting !== onOff(inst.reporting)) commands.push({ type: 'put-instance', hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) });
    // Heartbeating differs → the server's value wins, and the VIM hears of it.
    const heartbeating = info.heartbeating === 'enabled';
    if (heartbeating !== inst.heartbeating) {
      inst.heartbeating = heartbeating;
      vim.push(serviceEventOf(inst));
    }
  }
  // New rule: an instance the agent holds for this host but the server lacks is pushed again.
  for (const inst of inventory.instancesOn(hostname)) {
    if (!seen.has(inst.uuid)) commands.push({ type: 'put-instance', hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) });
  }
  return { vim, commands };
}
