/**
 * The guestctl commands: each takes parsed arguments, an AgentClient and an output sink, and returns the
 * exit code (errors are thrown as GuestctlError). No process access here, so tests run them in-process.
 */
import type { OperatorInstance, OperatorStreamMessage } from '@guesthb/protocol';
import type { AgentClient } from './agent-client.js';
import type { GuestctlArgs } from './cli-args.js';
import { ExitCode, GuestctlError } from './errors.js';
import { formatRecord, formatRows, type Row } from './format.js';

export interface Output {
  write(text: string): void;
}

const HOST_COLUMNS = ['hostname', 'uuid', 'reporting', 'server', 'reachable', 'last_contact_s', 'outbox', 'instances', 'healthy', 'unhealthy', 'failed', 'waiting_init', 'disconnected', 'not_monitored'];
const INSTANCE_COLUMNS = ['uuid', 'name', 'hostname', 'state', 'reporting', 'heartbeating', 'action', 'interval_ms', 'rtt_ms', 'misses', 'last_event', 'last_event_at'];
const EVENT_COLUMNS = ['time', 'hostname', 'uuid', 'kind', 'detail'];

export async function runCommand(args: GuestctlArgs, client: AgentClient, out: Output, signal: AbortSignal): Promise<ExitCode> {
  const c = args.command;
  switch (c.name) {
    case 'help':
    case 'version':
      return ExitCode.OK; // printed by the bin before any client exists
    case 'hosts': {
      const list = await client.hosts();
      const rows: Row[] = list.hosts.map((h) => ({
        hostname: h.hostname, uuid: h.uuid, reporting: h.reporting ? 'enabled' : 'disabled', server: h.server?.url ?? null,
        reachable: h.server === null ? false : h.server.reachable, last_contact_s: h.server === null ? null : Math.round(h.server.lastContactAgoMs / 1000),
        outbox: h.server?.outboxDepth ?? null, instances: h.instances, healthy: h.states.healthy, unhealthy: h.states.unhealthy,
        failed: h.states.failed, waiting_init: h.states['waiting-init'], disconnected: h.states.disconnected, not_monitored: h.states['not-monitored'],
      }));
      out.write(formatRows(rows, HOST_COLUMNS, args.format, args.columns));
      return ExitCode.OK;
    }
    case 'instances': {
      const list = await client.instances({ host: c.host, state: c.state });
      out.write(formatRows(list.map(instanceRow), INSTANCE_COLUMNS, args.format, args.columns));
      return ExitCode.OK;
    }
    case 'show': {
      const inst = await client.instance(c.key);
      if (inst === undefined) throw new GuestctlError(ExitCode.NOT_FOUND, `no instance '${c.key}' known to the agent`);
      out.write(formatRecord(showRow(inst), args.format, args.columns));
      return ExitCode.OK;
    }
    case 'events': {
      if (!c.follow) {
        const list = await client.instances({});
        const rows = list.filter((i) => i.lastEvent !== null).sort((a, b) => (a.lastEvent?.atMs ?? 0) - (b.lastEvent?.atMs ?? 0)).map((i) => ({
          time: iso(i.lastEvent?.atMs), hostname: i.hostname, uuid: i.uuid, kind: i.lastEvent?.kind ?? null, detail: i.lastEvent?.detail ?? null,
        }));
        out.write(formatRows(rows, EVENT_COLUMNS, args.format, args.columns));
        return ExitCode.OK;
      }
      // Streaming: one line per change (json: one object per line), until Ctrl-C or the agent goes away.
      await client.follow((m) => {
        const row = streamRow(m);
        if (row === undefined) return;
        out.write(args.format === 'json' ? `${JSON.stringify(m)}\n` : formatRows([row], EVENT_COLUMNS, 'value', args.columns));
      }, signal);
      return signal.aborted ? ExitCode.OK : ExitCode.FAILED;
    }
    case 'vote':
    case 'notify': {
      let hostname = c.hostname;
      if (hostname === undefined) {
        const inst = await client.instance(c.uuid);
        if (inst === undefined) throw new GuestctlError(ExitCode.NOT_FOUND, `no instance '${c.uuid}' known to the agent (or give --hostname)`);
        hostname = inst.hostname;
      }
      const reply = await client.action(c.name, c.uuid, hostname, c.action);
      if (reply.status === 404) throw new GuestctlError(ExitCode.NOT_FOUND, `the agent does not know instance ${c.uuid}: ${reply.body.trim()}`);
      if (reply.status < 200 || reply.status >= 300) throw new GuestctlError(ExitCode.REFUSED, `the agent refused the ${c.name}: HTTP ${reply.status} ${reply.body.trim()}`);
      const body = parseReply(reply.body);
      out.write(formatRecord({ uuid: c.uuid, hostname, action: c.action, timeout_s: body['timeout'] ?? null }, args.format, args.columns));
      return ExitCode.OK;
    }
  }
}

function instanceRow(i: OperatorInstance): Row {
  return {
    uuid: i.uuid, name: i.name, hostname: i.hostname, state: i.state, reporting: i.reporting ? 'enabled' : 'disabled',
    heartbeating: i.heartbeating ? 'enabled' : 'disabled', action: i.correctiveAction, interval_ms: i.intervalMs, rtt_ms: i.lastRttMs,
    misses: i.misses, last_event: i.lastEvent === null ? null : `${i.lastEvent.kind}: ${i.lastEvent.detail}`, last_event_at: iso(i.lastEvent?.atMs),
  };
}

/**
 * `show`: the list row plus why the guest last went silent, as its host saw it (issue 16): the class of the
 * last loss or ill-health report, its evidence, the forensics ring (round trips in ms, `miss` for a missed
 * challenge, oldest first) and the guest's last log_msg.
 */
function showRow(i: OperatorInstance): Row {
  const c = i.corroboration;
  if (c === undefined) return instanceRow(i);
  const e = c.evidence;
  const evidence = [
    e.pid === undefined ? 'no QEMU process found' : `pid ${e.pid} state ${e.processState ?? '?'}`, `${e.vcpus} vCPU`,
    e.cpuPct === undefined ? undefined : `cpu ${e.cpuPct} %`, e.waitPct === undefined ? undefined : `wait ${e.waitPct} %`,
    e.slices === undefined ? undefined : `${e.slices} slices`, e.runnable === undefined ? undefined : `${e.runnable} runnable`,
    `over ${Math.round(e.windowMs)} ms (${e.samples} samples)`,
  ].filter((x) => x !== undefined).join(', ');
  return {
    ...instanceRow(i), host_class: c.class, host_report: c.report, host_report_at: iso(c.atMs), host_evidence: evidence,
    host_deferred_ms: c.deferredMs ?? null, forensics: c.rounds.map((r) => (r.rttMs === null ? 'miss' : String(r.rttMs))).join(' '),
    last_log_msg: c.lastLogMsg ?? null,
  };
}

function streamRow(m: OperatorStreamMessage): Row | undefined {
  switch (m.type) {
    case 'server-event':
      return { time: iso(m.event.atMs), hostname: m.hostname, uuid: m.uuid, kind: m.event.kind, detail: m.event.detail };
    case 'instance':
      return { time: new Date().toISOString(), hostname: m.instance.hostname, uuid: m.instance.uuid, kind: 'state', detail: m.instance.state };
    case 'instance-removed':
      return { time: new Date().toISOString(), hostname: m.hostname, uuid: m.uuid, kind: 'removed', detail: '' };
    case 'host':
      return { time: new Date().toISOString(), hostname: m.host.hostname, uuid: m.host.uuid, kind: 'host', detail: m.host.server?.reachable === true ? 'server reachable' : 'server unreachable' };
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function parseReply(text: string): Record<string, string | null> {
  try {
    return JSON.parse(text) as Record<string, string | null>;
  } catch {
    return {};
  }
}
