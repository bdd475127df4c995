/**
 * Issue 15: every daemon's /metrics passes `promtool check metrics` (Debian's `prometheus` package), carries
 * the process metrics, and has its labelled counters present at 0 before the first event. guest-agent and
 * guest-server run as the demo fleet runs them; awd runs from its CLI with --http.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT, startDemoFleet, type DemoFleet } from '../helpers/demo-fleet.js';
import { freePort } from '../helpers/daemon.js';
import { waitForValue } from '../helpers/wait.js';

const PROMTOOL = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const PROCESS_METRICS = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'];

/** promtool's verdict on a scrape: exit status and what it printed (problems, one per line). */
function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`${PROMTOOL}: ${r.error.message} (apt-get install prometheus; npm test does it)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function expectClean(text: string): void {
  expect(promtool(text)).toEqual({ status: 0, output: '' });
  for (const name of PROCESS_METRICS) expect(text).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'));
}

describe('promtool check metrics on every daemon (issue 15)', () => {
  let fleet: DemoFleet;
  beforeAll(async () => {
    fleet = await startDemoFleet({ guests: 3, faultAfterMs: 3_600_000 });
  }, 90_000);
  afterAll(async () => {
    expect(await fleet?.stop()).toBe(0);
  }, 30_000);

  it('notices a bad scrape (the check itself works)', () => {
    expect(promtool('# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n').status).not.toBe(0);
  });

  it('guest-agent: clean, process metrics, labelled counters at 0 before any event of their kind', async () => {
    const text = await (await fetch(`${fleet.ready.agentUrl}/metrics`)).text();
    expectClean(text);
    expect(text).toContain('guest_agent_server_events_total{kind="vote-result",outcome="duplicate"} 0');
    expect(text).toContain('guest_agent_vim_events_total{kind="alarm-failed",outcome="rejected"} 0');
    expect(text).toContain('guest_agent_server_commands_total{command="delete-instance",outcome="error"} 0');
  });

  it('guest-server: clean, process metrics, drop counters at 0', async () => {
    const serverUrl = /guest-server up on (\S+),/.exec(fleet.output())?.[1];
    expect(serverUrl).toBeDefined();
    const text = await (await fetch(`http://${serverUrl ?? ''}/metrics`)).text();
    expectClean(text);
    expect(text).toContain('guest_server_outbox_dropped_total{kind="loss"} 0');
    expect(text).toContain('guest_server_guest_budget_drops_total{kind="bytes"} 0');
  });

  it('awd: clean, process metrics, per-watchdog counters at 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ghb-prom-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const script = join(dir, 'script.txt');
    await writeFile(script, 'info status\n');
    const [detection, monitor] = [await freePort(), await freePort()];
    const awd = spawn(process.execPath, [join(REPO_ROOT, 'packages/awd/dist/bin.js'),
      '--chardev', `socket,id=detection,host=127.0.0.1,port=${detection},server=on,wait=off`,
      '--chardev', `socket,id=notification,host=127.0.0.1,port=${monitor}`,
      '--object', `advanced-watchdog,id=awd1,server=on,awd_node=detection,notification_node=notification,opt_script=${script},iothread=io1,pulse_interval=1000,timeout=60000`,
      '--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    awd.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    awd.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    onTestFinished(async () => {
      if (awd.exitCode === null) {
        awd.kill('SIGTERM');
        await once(awd, 'exit');
      }
    });
    const port = await waitForValue(() => /"port":(\d+)[^\n]*"msg":"http listening"/.exec(out)?.[1], 10_000, `awd's http port\n${out}`);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expectClean(text);
    expect(text).toContain('awd_timeouts_total{watchdog="awd1"} 0');
    expect(text).toContain('awd_notifications_total{watchdog="awd1",result="failed"} 0');
  });
});
