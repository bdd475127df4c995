/**
 * `npm start`: a local all-in-one deployment in a temp dir — guest-agent and guest-server as child
 * processes, simulated guests in this process, and a VIM event sink that prints what the agent delivers.
 * After a while one guest stops answering and one turns unhealthy; the detections show up live.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulatedGuests, type SimulatedGuest } from '@guesthb/guest-client';
import { freePort, startDaemon, waitHealthy, type Daemon } from './processes.js';
import { StatusView, type StatusRow } from './status-view.js';
import { provisioningCalls, vimCall, vimCallUntilOk } from './vim-client.js';
import { describeEvent, eventLabel, startVimSink, type VimSink } from './vim-sink.js';

export interface DemoOptions {
  /** The repository root (where packages/ lives). */
  readonly repoRoot: string;
  readonly guests: number;
  /** When the faults are injected, ms after the guests are heartbeating. */
  readonly faultAfterMs: number;
  /** Stop by itself after this long (tests); undefined = until the signal aborts. */
  readonly durationMs: number | undefined;
  readonly out: NodeJS.WritableStream;
  readonly tty: boolean;
  /** Terminal width, read at each redraw. */
  readonly columns?: () => number | undefined;
  readonly signal: AbortSignal;
  /** The guests' heartbeat interval (their init's heartbeat_interval_ms; ≥ 400). */
  readonly intervalMs?: number;
  /** Called once the fleet is up: where its agent, status page and VIM port are (the browser test uses it). */
  readonly onReady?: (info: DemoReady) => void;
}

export interface DemoReady {
  readonly agentUrl: string;
  readonly vimUrl: string;
  /** The bearer token of the agent's peer and operator APIs (in tokenFile too). */
  readonly token: string;
  readonly tokenFile: string;
  readonly uuids: readonly string[];
  /** The guests the faults and the vote go to. */
  readonly hungUuid: string | undefined;
  readonly sickUuid: string | undefined;
  readonly votedUuid: string | undefined;
  /** Injects the faults (and schedules the vote) now instead of after faultAfterMs; once only. */
  readonly injectFaults: () => void;
}

/** With more guests than this the table shows the first rows only and service events are summarised. */
const MAX_TABLE_ROWS = 12;

const HOSTNAME = 'compute-0';

/** Runs the demo until the signal aborts (or durationMs passes); cleans everything up. Returns an exit code. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const view = new StatusView(o.out, o.tty, o.columns);
  const agentBin = join(o.repoRoot, 'packages/guest-agent/dist/bin.js');
  const serverBin = join(o.repoRoot, 'packages/guest-server/dist/bin.js');
  for (const bin of [agentBin, serverBin]) {
    if (!existsSync(bin)) {
      view.event(`missing ${bin}: run "npm run build" first (npm start does it for you)`);
      return 1;
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'ghb-demo-'));
  const channelDir = join(dir, 'qemu');
  await mkdir(channelDir);
  view.event(`temp dir: ${dir}`);
  const daemons: Daemon[] = [];
  let guests: SimulatedGuest[] = [];
  let sink: VimSink | undefined;
  const loops: NodeJS.Timeout[] = [];
  let stopping = false;
  try {
    const hostUuid = randomUUID();
    const uuids = Array.from({ length: o.guests }, () => randomUUID());
    const lastEvent = new Map<string, string>();
    const faultTimes = new Map<string, number>();
    const faults = new Map<string, string>();
    const many = o.guests > MAX_TABLE_ROWS;
    let quietServiceEvents = 0;
    sink = await startVimSink({ hostUuid, hostname: HOSTNAME, instances: uuids }, (event) => {
      lastEvent.set(event.uuid, eventLabel(event));
      const faultAt = faultTimes.get(event.uuid);
      // A big fleet starts with one service event per guest: count those of healthy guests instead of printing them.
      if (many && event.eventType === 'service' && faultAt === undefined) {
        quietServiceEvents++;
        return;
      }
      const after = faultAt !== undefined && event.eventType === 'alarm' ? ` — ${((performance.now() - faultAt) / 1000).toFixed(1)} s after the fault` : '';
      view.event(`VIM ← ${event.uuid.slice(0, 8)}: ${describeEvent(event)}${after}`);
    });
    view.event(`VIM event sink listening on ${sink.url}`);

    const [agentRx, agentVim, serverRx] = [await freePort(), await freePort(), await freePort()];
    // The peer and operator APIs with a bearer token, as installs configure them.
    const token = randomUUID();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const agentIni = join(dir, 'agent.ini');
    await writeFile(agentIni, `[agent]\nrx_host = 127.0.0.1\nvim_cmd_host = 127.0.0.1\naudit_period_secs = 2\ntoken_file = ${tokenFile}\n`);
    const agentUrl = `http://127.0.0.1:${agentRx}`;
    const agent = startDaemon('guest-agent', agentBin,
      ['--config', agentIni, '--port', String(agentRx), '--vim-cmd-port', String(agentVim), '--vim-event-url', sink.url],
      join(dir, 'guest-agent.log'));
    daemons.push(agent);
    await waitHealthy(`${agentUrl}/healthz`, 20_000, agent);
    view.event(`guest-agent up: peers on ${agentUrl}, VIM commands on 127.0.0.1:${agentVim} (log ${agent.logPath})`);
    view.event(`status page: ${agentUrl}/ui/#token=${token}`);
    view.event(`guestctl:    GUESTCTL_TOKEN_FILE=${tokenFile} npx guestctl --agent ${agentUrl} instances`);

    const vimBase = `http://127.0.0.1:${agentVim}`;
    for (const call of provisioningCalls(hostUuid, HOSTNAME, uuids)) await vimCallUntilOk(vimBase, call, 15_000);
    view.event(`VIM → agent: host ${HOSTNAME} created and enabled, ${uuids.length} instances with heartbeat enabled`);

    guests = await startSimulatedGuests(uuids, {
      dir: channelDir,
      ...(o.intervalMs === undefined ? {} : { config: { heartbeatIntervalMs: o.intervalMs } }),
      onEvent: (e) => {
        // Every guest starts "disabled" (no host yet); only changes after that are news.
        if (e.type === 'state' && e.from !== 'initial' && !stopping && (!many || faults.has(e.uuid))) view.event(`guest ${e.uuid.slice(0, 8)}: ${e.from} → ${e.to} (${e.event})`);
      },
    });
    view.event(`${guests.length} simulated guests listening in ${channelDir}`);

    const serverIni = join(dir, 'server.ini');
    await writeFile(serverIni, `[client]\nbind_address = 127.0.0.1\nadvertise_url = http://127.0.0.1:${serverRx}\ntoken_file = ${tokenFile}\n`);
    const server = startDaemon('guest-server', serverBin,
      ['--config', serverIni, '--channel-dir', channelDir, '--agent-url', agentUrl, '--port', String(serverRx), '--hostname', HOSTNAME, '--state-dir', join(dir, 'server-state')],
      join(dir, 'guest-server.log'));
    daemons.push(server);
    await waitHealthy(`http://127.0.0.1:${serverRx}/healthz`, 20_000, server);
    view.event(`guest-server up on 127.0.0.1:${serverRx}, watching ${channelDir} (log ${server.logPath})`);

    const [voted, hung, sick] = guests;
    const hostView = new Map<string, string>();
    const shown = guests.slice(0, MAX_TABLE_ROWS);
    const poll = async (): Promise<void> => {
      await Promise.all(shown.map(({ uuid }) => uuid).map(async (uuid) => {
        try {
          const { status, body } = await vimCall(vimBase, { method: 'GET', path: `/v1/instances/${uuid}` }, 1000);
          const svc = (body as { services?: { status?: string }[] }).services?.[0];
          hostView.set(uuid, status === 200 ? (svc?.status === 'enabled' ? 'heartbeating' : 'not heartbeating') : `HTTP ${status}`);
        } catch {
          hostView.set(uuid, '?');
        }
      }));
    };
    const rows = (): StatusRow[] => shown.map((g) => {
      const s = g.stats;
      return {
        instance: g.uuid, guestState: `${s.state}${s.connected ? '' : ' (no host)'}`, hostView: hostView.get(g.uuid) ?? '…',
        latencyMs: s.lastChallengeToResponseMs, challenges: s.challengesSeen, misses: s.missed, fault: faults.get(g.uuid) ?? '',
        lastEvent: lastEvent.get(g.uuid) ?? '',
      };
    });
    let tick = 0;
    loops.push(setInterval(() => {
      tick++;
      poll().then(() => {
        if (quietServiceEvents > 0 && tick % 5 === 0) {
          view.event(`VIM ← ${quietServiceEvents} service events of healthy guests (not shown one by one)`);
          quietServiceEvents = 0;
        }
        if (o.tty || tick % 5 === 0) {
          view.table(rows());
          if (many) view.event(`(table: the first ${shown.length} of ${guests.length} guests; guestctl and the status page show them all)`);
        }
      }, () => undefined);
    }, 1000));

    let injected = false;
    const injectFaults = (): void => {
      if (injected || stopping) return;
      injected = true;
      if (hung !== undefined) {
        hung.stopAnswering();
        faultTimes.set(hung.uuid, performance.now());
        faults.set(hung.uuid, 'stopped answering');
        view.event(`FAULT: guest ${hung.uuid.slice(0, 8)} stops answering challenges`);
      }
      if (sick !== undefined) {
        sick.setHealth('unhealthy', 'reboot', 'demo: simulated application failure');
        faultTimes.set(sick.uuid, performance.now());
        faults.set(sick.uuid, 'unhealthy (reboot)');
        view.event(`FAULT: guest ${sick.uuid.slice(0, 8)} reports unhealthy, corrective action reboot`);
      }
      // A vote, as the VIM asks before stopping an instance (guest_services_vote): the reply carries the
      // guest's vote timeout; the guest's answer reaches the VIM later as an action event (printed by the sink).
      loops.push(setTimeout(() => {
        if (voted === undefined || stopping) return;
        faults.set(voted.uuid, 'vote: stop');
        view.event(`VIM → agent: vote "stop" for guest ${voted.uuid.slice(0, 8)} (POST /v1/instances/{uuid}/vote)`);
        vimCall(vimBase, { method: 'POST', path: `/v1/instances/${voted.uuid}/vote`, body: { uuid: voted.uuid, hostname: HOSTNAME, action: 'stop' } })
          .then(({ status, body }) => view.event(`VIM ← agent: HTTP ${status} ${JSON.stringify(body)} (the guest has that many seconds to vote)`),
            (err: unknown) => view.event(`vote failed: ${(err as Error).message}`));
      }, 2000));
    };
    loops.push(setTimeout(injectFaults, o.faultAfterMs));
    o.onReady?.({
      agentUrl, vimUrl: vimBase, token, tokenFile, uuids, hungUuid: hung?.uuid, sickUuid: sick?.uuid, votedUuid: voted?.uuid, injectFaults,
    });
    view.event(`faults in ${(o.faultAfterMs / 1000).toFixed(0)} s; Ctrl-C stops everything`);

    await new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      o.signal.addEventListener('abort', () => resolve(), { once: true });
      if (o.durationMs !== undefined) loops.push(setTimeout(resolve, o.durationMs));
      for (const d of daemons) {
        d.exited.then((code) => {
          if (!stopping) view.event(`${d.name} exited unexpectedly (code ${code}); see ${d.logPath}`);
          resolve();
        }, () => undefined);
      }
    });
    view.table(rows());
    return 0;
  } catch (err) {
    view.event(`demo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    stopping = true;
    for (const t of loops) clearTimeout(t);
    view.event('stopping: guest-server, guests, guest-agent, VIM sink');
    const [agent, server] = daemons;
    await server?.stop();
    await Promise.all(guests.map((g) => g.close()));
    await agent?.stop();
    await sink?.close();
    await rm(dir, { recursive: true, force: true });
    view.event(`removed ${dir}`);
  }
}
