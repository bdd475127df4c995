/**
 * Agent handling of guest-server events (daemons §3.7), as a rule of the reducer: applied to the step's
 * inventory draft, it returns what to send (VIM events and server commands). No I/O here.
 */
import type { PeerEvent } from '@guesthb/protocol';
import { guestInfoPatch, onOff, type Instance, type Inventory, type ServerCommand } from './inventory.js';
import { guestResponseOf, type VimEvent } from './vim-events.js';

export interface EventPlan {
  readonly vim: readonly VimEvent[];
  readonly commands: readonly ServerCommand[];
  /** A log line for events that change nothing (unknown uuid, gated loss …). */
  readonly note?: string;
}

const NOTHING: EventPlan = { vim: [], commands: [] };

/** A fault episode: the id of the server event (or condition) that reported it, unique across servers. */
export const episodeOf = (hostname: string, eventId: string): string => `${hostname}/${eventId}`;

export function serviceEventOf(inst: Instance): VimEvent {
  return {
    kind: 'service', uuid: inst.uuid, hostname: inst.hostname, state: onOff(inst.reporting),
    status: onOff(inst.heartbeating), restartTimeout: inst.heartbeating ? inst.timeouts.restart : '0',
  };
}

export function planServerEvent(inventory: Inventory, event: PeerEvent, nowMs: number): EventPlan {
  inventory.touchServer(event.hostname, nowMs);
  switch (event.kind) {
    case 'server-ready': {
      // A server of a host the agent does not know (agent restart): learn the host by hostname.
      if (inventory.hostByName(event.hostname) === undefined && inventory.learnHost(event.hostname) === undefined) {
        return { ...NOTHING, note: 'host table full: server-ready of an unknown host ignored' };
      }
      const registered = inventory.registerServer(event.hostname, event.url, event.bootId, nowMs);
      if (registered === 'full') return { ...NOTHING, note: 'server table full: registration ignored' };
      // A new or restarted server gets the agent's whole state (MONITOR_READY, daemons §3.7).
      return { vim: [], commands: registered === 'same' ? [] : inventory.stateFor(event.hostname) };
    }
    case 'running':
    case 'stopped':
    case 'ill-health': {
      const uuid = event.instance.uuid;
      // Deleted (issue 12 item 6): a late event never re-creates it; the server is told to drop it again.
      if (inventory.instance(uuid) === undefined && inventory.tombstone(uuid) !== undefined) {
        return { vim: [], commands: [{ type: 'delete-instance', hostname: event.hostname, uuid }], note: 'event of a deleted instance ignored' };
      }
      // Unknown (agent restart): learned from the event, on the server's host (no event is lost).
      const known = inventory.instance(uuid) ?? inventory.learnInstance(event.hostname, uuid, event.instance.reporting === 'enabled');
      if (known === undefined) return { ...NOTHING, note: 'event for an unknown instance: inventory full' };
      // A learned instance takes the server's reporting until the VIM confirms it.
      let inst = inventory.updateInstance(known, {
        ...guestInfoPatch(event.instance), lastEventAtMs: nowMs,
        ...(known.fromServer ? { reporting: event.instance.reporting === 'enabled' } : {}),
      });
      // Decision (daemons §9 item 17): the agent's reporting (the VIM's intent) wins over the server's;
      // a server that disagrees is corrected at once instead of at the next audit.
      const commands: ServerCommand[] = event.instance.reporting === onOff(inst.reporting)
        ? []
        : [{ type: 'put-instance', hostname: inst.hostname, uuid: inst.uuid, reporting: onOff(inst.reporting) }];
      if (event.kind === 'ill-health') {
        const action = event.instance['repair-action'];
        if (action === 'none' || action === 'unknown') return { vim: [], commands, note: 'ill health without an action' };
        return { vim: [{ kind: 'alarm-unhealthy', uuid: inst.uuid, hostname: inst.hostname, repairAction: action, episode: episodeOf(event.hostname, event.id) }], commands };
      }
      inst = inventory.updateInstance(inst, { heartbeating: event.kind === 'running' });
      return { vim: [serviceEventOf(inst)], commands };
    }
    case 'loss': {
      if (inventory.instance(event.uuid) === undefined && inventory.tombstone(event.uuid) !== undefined) {
        return { vim: [], commands: [{ type: 'delete-instance', hostname: event.hostname, uuid: event.uuid }], note: 'loss of a deleted instance ignored' };
      }
      // Unknown (agent restart): learned on the event's host with reporting on, since the server sends a
      // loss only when its own host and instance gates are open.
      let inst = inventory.instance(event.uuid);
      if (inst === undefined) {
        inst = inventory.learnInstance(event.hostname, event.uuid, true);
        if (inst === undefined) return { ...NOTHING, note: 'loss of an unknown instance: inventory full' };
        inst = inventory.updateInstance(inst, { correctiveAction: event.correctiveAction });
      }
      inst = inventory.updateInstance(inst, { lastEventAtMs: nowMs });
      const host = inventory.hostByName(inst.hostname);
      if (host === undefined || !inventory.hostGateOpen(host) || !inst.reporting) return { ...NOTHING, note: 'loss not reported: host or instance reporting disabled' };
      // The loss action of the event, not the stored one that an ill-health may have overwritten (daemons §8.1).
      return { vim: [{ kind: 'alarm-failed', uuid: inst.uuid, hostname: inst.hostname, repairAction: event.correctiveAction, episode: episodeOf(event.hostname, event.id) }], commands: [] };
    }
    case 'vote-result': {
      // Forwarded even for an instance the agent does not know (yet: agent restart): the action event
      // needs only the uuid, and the VIM may be waiting for the guest's answer (the original dropped it).
      const response = guestResponseOf(event.notificationType, event.vote);
      if (response === undefined) return { ...NOTHING, note: 'vote result with an unknown notification type' };
      return { vim: [{ kind: 'action', uuid: event.uuid, action: event.eventType, response, reason: event.reason, episode: episodeOf(event.hostname, event.id) }], commands: [] };
    }
  }
}
