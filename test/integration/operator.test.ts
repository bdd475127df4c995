/**
 * Issue 15: the operator's view of a running fleet, end to end. The demo's fleet (real guest-agent and
 * guest-server processes, 6 simulated guests, token configured) is read with the real guestctl binary:
 * hosts, instances, filters, show, the live event stream across a hang and an ill-health report,
 * vote, and its documented exit codes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorHostList, OperatorStreamMessage } from '@guesthb/protocol';
import { REPO_ROOT, startDemoFleet, type DemoFleet } from '../helpers/demo-fleet.js';
import { waitFor } from '../helpers/wait.js';

const GUESTCTL = join(REPO_ROOT, 'packages/guestctl/dist/bin.js');

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

let fleet: DemoFleet;

async function guestctl(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [GUESTCTL, '--agent', fleet.ready.agentUrl, ...args], {
    env: { ...process.env, GUESTCTL_TOKEN_FILE: fleet.ready.tokenFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  return { code, stdout, stderr };
}

/** A row of `guestctl instances -f json`. */
interface InstanceRow { readonly uuid: string; readonly state: string; readonly last_event: string | null; readonly [column: string]: unknown }

async function instances(args: readonly string[] = []): Promise<InstanceRow[]> {
  const run = await guestctl(['instances', '-f', 'json', ...args]);
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as InstanceRow[];
}

describe('guestctl against a running fleet (issue 15)', () => {
  beforeAll(async () => {
    fleet = await startDemoFleet({ guests: 6, faultAfterMs: 6_000, intervalMs: 400 });
  }, 90_000);
  afterAll(async () => {
    expect(await fleet?.stop()).toBe(0);
  }, 30_000);

  it('lists the host with its reachable server, and every instance healthy', async () => {
    await waitFor(async () => (await instances()).filter((i) => i.state === 'healthy').length === 6, 20_000, 'six healthy instances', () => fleet.output());
    const rows = await instances();
    expect(rows.map((r) => r.uuid).sort()).toEqual([...fleet.ready.uuids].sort());
    for (const row of rows) {
      // The guest's own figures come from guest-server: its init (name, interval) and its cycle (misses, round trip).
      expect(row).toMatchObject({ hostname: 'compute-0', reporting: 'enabled', heartbeating: 'enabled', state: 'healthy', interval_ms: 400, misses: 0 });
      expect(row['name']).toEqual(expect.any(String));
      expect(row['rtt_ms']).toEqual(expect.any(Number));
    }
    const hosts = JSON.parse((await guestctl(['hosts', '-f', 'json'])).stdout) as Record<string, unknown>[];
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ hostname: 'compute-0', reporting: 'enabled', reachable: true, instances: 6, healthy: 6, failed: 0 });
    const table = await guestctl(['hosts']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\| compute-0 \|/);
  }, 40_000);

  it('streams the hang (failed) and the ill-health (unhealthy) as they happen, and filters by state', async () => {
    const follower = spawn(process.execPath, [GUESTCTL, '--agent', fleet.ready.agentUrl, 'events', '--follow', '-f', 'json'], {
      env: { ...process.env, GUESTCTL_TOKEN_FILE: fleet.ready.tokenFile }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = '';
    follower.stdout.on('data', (c: Buffer) => { lines += c.toString(); });
    const exited = once(follower, 'exit');
    const messages = (): OperatorStreamMessage[] => lines.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as OperatorStreamMessage);
    const stateOf = (uuid: string | undefined) => (): string | undefined =>
      messages().filter((m) => m.type === 'instance' && m.instance.uuid === uuid).map((m) => (m.type === 'instance' ? m.instance.state : '')).at(-1);
    await waitFor(() => stateOf(fleet.ready.hungUuid)() === 'failed', 30_000, 'the hung guest failed on the stream', () => `${lines}\n${fleet.output()}`);
    await waitFor(() => stateOf(fleet.ready.sickUuid)() === 'unhealthy', 10_000, 'the sick guest unhealthy on the stream', () => lines);
    // The server's report of the hang reached the stream as it came: a loss, or heartbeating stopped for a loss.
    const hangReports = messages().filter((m) => m.type === 'server-event' && m.uuid === fleet.ready.hungUuid)
      .map((m) => (m.type === 'server-event' ? `${m.event.kind}:${m.event.detail}` : ''));
    expect(hangReports.some((r) => r.startsWith('loss:') || r === 'stopped:loss'), hangReports.join(', ')).toBe(true);
    follower.kill('SIGINT');
    const [code] = await exited as [number | null];
    expect(code).toBe(0);

    const failed = await guestctl(['instances', '--state', 'failed', '-f', 'value', '-c', 'uuid']);
    expect(failed.stdout.trim()).toBe(fleet.ready.hungUuid);
    const shown = JSON.parse((await guestctl(['show', fleet.ready.hungUuid ?? '', '-f', 'json'])).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ uuid: fleet.ready.hungUuid, state: 'failed', heartbeating: 'disabled', action: 'reboot' });
    expect(String(shown['last_event'])).toMatch(/^(loss|stopped): /);
    // Issue 16: the server's corroboration of the loss reaches guestctl show (the demo's guests are not QEMU:
    // whatever process holds their sockets has no vCPU threads, so the class says so, with the forensics).
    expect(shown).toMatchObject({ host_class: 'unknown', host_report: 'loss' });
    expect(String(shown['forensics'])).toMatch(/miss$/);
    const hosts = JSON.parse((await guestctl(['hosts', '-f', 'json'])).stdout) as Record<string, unknown>[];
    expect(hosts[0]).toMatchObject({ failed: 1, unhealthy: 1, healthy: 4 });
  }, 60_000);

  it('votes as the VIM does and shows the result as the last event', async () => {
    const uuid = fleet.ready.uuids[5] ?? '';
    const run = await guestctl(['--vim', fleet.ready.vimUrl, 'vote', uuid, 'pause', '-f', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ uuid, hostname: 'compute-0', action: 'pause' });
    let row: InstanceRow | undefined;
    await waitFor(async () => {
      row = (await instances()).find((i) => i.uuid === uuid);
      return row?.last_event?.startsWith('vote-result: ') === true;
    }, 15_000, 'the vote result', () => `${run.stdout}\n${JSON.stringify(row)}`);
    // The guest's answer to a revocable pause, as guest-server reports it to the agent.
    expect(row?.last_event).toMatch(/^vote-result: pause revocable: /);
  }, 30_000);

  it('exits 4 without the token, 3 for an unknown instance, 1 when the agent is not there', async () => {
    const noToken = await guestctl(['hosts'], { GUESTCTL_TOKEN_FILE: '' });
    expect(noToken.code).toBe(4);
    expect(noToken.stderr).toMatch(/^guestctl: the agent refused the token/);
    const unknown = await guestctl(['show', 'no-such-instance']);
    expect(unknown.code).toBe(3);
    const child = spawn(process.execPath, [GUESTCTL, '--agent', 'http://127.0.0.1:1', 'hosts'], { stdio: 'ignore' });
    const [code] = await once(child, 'exit') as [number | null];
    expect(code).toBe(1);
  }, 30_000);

  it('serves the same view over plain HTTP (what the status page reads)', async () => {
    const auth = { authorization: `Bearer ${fleet.ready.token}` };
    const list = await (await fetch(`${fleet.ready.agentUrl}/v1/operator/hosts`, { headers: auth })).json() as OperatorHostList;
    expect(list.hosts[0]?.server?.reachable).toBe(true);
    expect((await fetch(`${fleet.ready.agentUrl}/v1/operator/hosts`)).status).toBe(401);
    const page = await fetch(`${fleet.ready.agentUrl}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    expect((await fetch(`${fleet.ready.agentUrl}/ui/../package.json`)).status).not.toBe(200);
  });
});
