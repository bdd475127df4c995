/**
 * The agent's domain as one pure reducer (issue 12 item 8a, STYLE.md R4): `step(state, input, nowMs)`
 * returns the next readonly state and the effects to perform (server commands, VIM events, journal writes,
 * logs, metrics). It never reads a clock, touches a socket or logs. The rules themselves live in
 * vim-commands.ts (VIM commands), server-events.ts (server events) and reconcile.ts (server audit); this
 * file routes inputs to them, applies "tell the VIM only what it was not told" (told-state, alarms once per
 * fault episode), the vote deadlines and the tombstone expiry.
 */
import { guestResponseOf, type VimEvent } from './vim-events.js';
import type { AgentEffect, AgentInput, AgentState, AgentStep, DurableRecord, Told } from './agent-state.js';
import { DEFAULT_INVENTORY_LIMITS, EPISODES_REMEMBERED, episodeTold } from './agent-state.js';
import { Inventory, type ServerCommand } from './inventory.js';
import { reconcileServer, sameService } from './reconcile.js';
import { planServerEvent } from './server-events.js';
import { decideVimCommand } from './vim-commands.js';

/** How long after a vote's own timeout the agent answers `timeout` for a guest whose result never came. */
export const VOTE_GRACE_MS = 10_000;

export function step(state: AgentState, input: AgentInput, nowMs: number): AgentStep {
  const inv = new Inventory(state);
  const fx: AgentEffect[] = [];
  const commands = (list: readonly ServerCommand[]): void => {
    for (const command of list) fx.push({ type: 'server-command', command });
  };
  switch (input.type) {
    case 'restore':
      restore(inv, input.records, fx);
      break;
    case 'server-events':
      for (const event of input.events) {
        const before = event.kind === 'server-ready' ? inv.server(event.hostname) : undefined;
        const plan = planServerEvent(inv, event, nowMs);
        fx.push({ type: 'metric', name: 'serverEvents', labels: { kind: event.kind, outcome: 'new' } });
        fx.push({ type: 'log', level: 'info', msg: 'server event', fields: { hostname: event.hostname, kind: event.kind, id: event.id, vimEvents: plan.vim.length, commands: plan.commands.length, note: plan.note } });
        commands(plan.commands);
        if (event.kind === 'vote-result') inv.setVote(event.uuid, undefined);
        // A restarted server forgot the votes it was running: each ends now with `error` (issue 12 item 7).
        if (event.kind === 'server-ready' && before !== undefined && before.bootId !== event.bootId) endVotes(inv, event.hostname, 'error', nowMs, fx);
        for (const vimEvent of plan.vim) tell(inv, vimEvent, fx);
      }
      break;
    case 'vim-request': {
      const decision = decideVimCommand(inv, input.request, nowMs);
      if ('forward' in decision) {
        fx.push({ type: 'forward-action', ...decision.forward });
        break;
      }
      commands(decision.outcome.commands);
      fx.push({ type: 'vim-reply', outcome: decision.outcome });
      break;
    }
    case 'action-forwarded':
      if (input.ok) {
        inv.setVote(input.uuid, {
          uuid: input.uuid, hostname: input.hostname, command: input.command, action: input.action,
          deadlineMs: nowMs + input.timeoutSecs * 1000 + (state.limits.voteGraceMs ?? VOTE_GRACE_MS),
        });
      }
      break;
    case 'vim-audit-start':
      for (const host of [...inv.hosts()]) {
        if (host.vimSyncedAtMs !== undefined && nowMs - host.vimSyncedAtMs >= input.refreshMs) {
          inv.updateHost(host, { gotHostState: false, gotInstances: false, vimSyncedAtMs: undefined });
        }
      }
      break;
    case 'vim-host-state': {
      const host = inv.hostByName(input.hostname);
      if (host?.uuid !== input.uuid) break; // deleted or re-numbered meanwhile
      if (input.state === undefined) {
        fx.push({ type: 'metric', name: 'auditRuns', labels: { audit: 'vim-host-state', outcome: 'error' } });
        break;
      }
      const on = input.state === 'enabled';
      if (on !== host.reporting || !host.reportingFromVim) {
        fx.push({ type: 'log', level: 'info', msg: 'host reporting from the VIM', fields: { hostname: host.hostname, reporting: input.state } });
        commands(inv.setHostReporting(host, on));
      }
      synced(inv, input.hostname, { gotHostState: true }, nowMs);
      fx.push({ type: 'metric', name: 'auditRuns', labels: { audit: 'vim-host-state', outcome: 'ok' } });
      break;
    }
    case 'vim-host-instances': {
      const host = inv.hostByName(input.hostname);
      if (host?.uuid !== input.uuid) break;
      if (input.reply === undefined) {
        fx.push({ type: 'metric', name: 'auditRuns', labels: { audit: 'vim-host-instances', outcome: 'error' } });
        break;
      }
      let allAdded = true;
      const askedAt = input.queriedAtMs ?? nowMs;
      for (const element of input.reply.instances) {
        // Deleted (I3) after the list was asked for: the list is older than the delete (no zombie).
        const tomb = inv.tombstone(element.uuid);
        if (tomb !== undefined && tomb.atMs >= askedAt) continue;
        // Added to the audited host, not the element's hostname (daemons §5.3b).
        const added = inv.addInstance(host.hostname, element.uuid, element.services[0]?.state === 'enabled');
        if (added.ok) commands(added.commands);
        else allAdded = false;
      }
      if (allAdded) {
        const pruned = inv.confirmListed(inv.hostByName(host.hostname) ?? host, new Set(input.reply.instances.map((e) => e.uuid)), nowMs);
        if (pruned.length > 0) fx.push({ type: 'log', level: 'info', msg: 'instances learned from the server but not listed by the VIM removed', fields: { hostname: host.hostname, removed: pruned.length } });
        commands(pruned);
        synced(inv, input.hostname, { gotInstances: true }, nowMs);
      }
      fx.push({ type: 'metric', name: 'auditRuns', labels: { audit: 'vim-host-instances', outcome: allAdded ? 'ok' : 'error' } });
      break;
    }
    case 'server-audit-reply': {
      const result = reconcileServer(inv, input.hostname, input.reply, nowMs, input.queriedAtMs);
      commands(result.commands);
      const before = fx.length;
      for (const event of result.vim) tell(inv, event, fx);
      const told = fx.length - before;
      if (result.commands.length > 0 || told > 0) {
        fx.push({ type: 'log', level: 'info', msg: 'server audit corrected state', fields: { hostname: input.hostname, commands: result.commands.length, vimEvents: told } });
      }
      fx.push({ type: 'metric', name: 'auditRuns', labels: { audit: 'server', outcome: 'ok' } });
      break;
    }
    case 'vim-delivered':
      delivered(inv, input.event);
      break;
    case 'vim-dropped':
      dropped(inv, input.event);
      break;
    case 'tick':
      tick(inv, nowMs, fx);
      break;
  }
  for (const [key, record] of inv.takeWrites()) fx.push({ type: 'persist', key, record });
  return [inv.snapshot(), fx];
}

function synced(inv: Inventory, hostname: string, patch: { gotHostState?: boolean; gotInstances?: boolean }, nowMs: number): void {
  const host = inv.hostByName(hostname);
  if (host === undefined) return;
  const next = inv.updateHost(host, patch);
  if (next.gotHostState && next.gotInstances) inv.updateHost(next, { vimSyncedAtMs: nowMs });
}

/**
 * Queues a VIM event unless the VIM was already told it (issue 12 items 5 and point 8): a service event
 * equal to the last one told, or an alarm of a fault episode already told, is dropped here. Alarms and
 * action results are journaled (pending) before the server's event is acknowledged.
 */
export function tell(inv: Inventory, event: VimEvent, fx: AgentEffect[]): void {
  const told: Told = inv.told(event.uuid) ?? {};
  switch (event.kind) {
    case 'service': {
      if (sameService(told.service, event)) return;
      const service = { hostname: event.hostname, state: event.state, status: event.status, restartTimeout: event.restartTimeout };
      // Heartbeating again: the fault episodes the VIM has were told are over (a new loss is a new alarm).
      const recovered = event.status === 'enabled' && told.failed?.pending === false;
      inv.setTold(event.uuid, { ...told, service, ...(recovered ? { failed: undefined } : {}) });
      break;
    }
    case 'alarm-failed':
    case 'alarm-unhealthy': {
      const slot = event.kind === 'alarm-failed' ? 'failed' : 'unhealthy';
      const previous = told[slot];
      if (event.episode !== undefined && episodeTold(previous, event.episode)) return;
      const earlier = previous === undefined ? [] : [previous.episode, ...(previous.earlier ?? [])].slice(0, EPISODES_REMEMBERED - 1);
      const alarm = {
        kind: event.kind, hostname: event.hostname, repairAction: event.repairAction, episode: event.episode ?? '', pending: true,
        ...(earlier.length > 0 ? { earlier } : {}),
      };
      inv.setTold(event.uuid, { ...told, [slot]: alarm });
      break;
    }
    case 'action':
      break;
  }
  fx.push({ type: 'vim-event', event });
}

/** The VIM listener has the event: an alarm is no longer pending. */
function delivered(inv: Inventory, event: VimEvent): void {
  if (event.kind === 'action' || event.kind === 'service') return;
  const told = inv.told(event.uuid);
  const slot = event.kind === 'alarm-failed' ? 'failed' : 'unhealthy';
  const alarm = told?.[slot];
  if (told === undefined || alarm === undefined || alarm.episode !== (event.episode ?? '')) return;
  // A deleted instance's alarm is forgotten once delivered (its tombstone stops any later event).
  inv.setTold(event.uuid, { ...told, [slot]: inv.instance(event.uuid) === undefined ? undefined : { ...alarm, pending: false } });
}

/**
 * The VIM outbox dropped a service event (evicted at its bound, or refused): told-state is written when an
 * event is queued, so without this the VIM would never get that state (the audit compares with told-state
 * and finds nothing to send) and could even keep an older one (an in-flight predecessor that failed takes
 * the key back and is sent). Forgetting it makes the next server audit tell the instance's state again.
 */
function dropped(inv: Inventory, event: VimEvent): void {
  if (event.kind !== 'service') return;
  const told = inv.told(event.uuid);
  if (told === undefined || !sameService(told.service, event)) return;
  inv.setTold(event.uuid, { ...told, service: undefined });
}

/**
 * Back from the journal: what the VIM was told of alarms, votes in flight, tombstones. (Events not yet at
 * the VIM come back with the VIM outbox's own persisted entries.)
 */
function restore(inv: Inventory, records: readonly DurableRecord[], fx: AgentEffect[]): void {
  inv.withoutJournal(() => {
    for (const record of records) {
      switch (record.type) {
        case 'alarm': {
          const told = inv.told(record.uuid) ?? {};
          const slot = record.alarm.kind === 'alarm-failed' ? 'failed' : 'unhealthy';
          inv.setTold(record.uuid, { ...told, [slot]: record.alarm });
          break;
        }
        case 'vote':
          inv.setVote(record.vote.uuid, record.vote);
          break;
        case 'tombstone':
          inv.setTombstone(record.tombstone.uuid, record.tombstone);
          break;
        case 'host':
        case 'instance':
        case 'server':
          inv.restoreRecord(record);
          break;
      }
    }
  });
  fx.push({ type: 'log', level: 'info', msg: 'state restored from the journal', fields: { records: records.length } });
}

/** Votes past their deadline end with `timeout`; tombstones past their time-to-live go. */
function tick(inv: Inventory, nowMs: number, fx: AgentEffect[]): void {
  for (const vote of [...inv.votes()]) {
    if (vote.deadlineMs <= nowMs) endVote(inv, vote.uuid, 'timeout', nowMs, fx);
  }
  const ttl = inv.limits.tombstoneTtlMs ?? DEFAULT_INVENTORY_LIMITS.tombstoneTtlMs ?? 3_600_000;
  for (const t of [...inv.tombstones()]) {
    if (nowMs - t.atMs >= ttl) inv.setTombstone(t.uuid, undefined);
  }
}

function endVotes(inv: Inventory, hostname: string, result: 'timeout' | 'error', nowMs: number, fx: AgentEffect[]): void {
  for (const vote of [...inv.votes()]) if (vote.hostname === hostname) endVote(inv, vote.uuid, result, nowMs, fx);
}

/** The VIM gets a result on the guest's behalf (the guest's silence is not an objection: vim-events.ts). */
function endVote(inv: Inventory, uuid: string, result: 'timeout' | 'error', nowMs: number, fx: AgentEffect[]): void {
  const vote = inv.vote(uuid);
  if (vote === undefined) return;
  inv.setVote(uuid, undefined);
  const response = guestResponseOf(vote.command === 'vote' ? 'revocable' : 'irrevocable', result) ?? '';
  const reason = result === 'timeout' ? 'no answer from the guest before the timeout' : 'guest-server restarted during the vote';
  fx.push({ type: 'log', level: 'warn', msg: 'vote ended without the guest\'s answer', fields: { uuid, action: vote.action, result } });
  tell(inv, { kind: 'action', uuid, action: vote.action, response, reason, episode: `${result}:${vote.deadlineMs}:${nowMs}` }, fx);
}
