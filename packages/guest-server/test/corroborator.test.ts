/**
 * [16.2-5] The corroborator on a ManualClock with a scripted probe: VMM located once per batch and again on a
 * reconnect, sampled once per interval and only while challenged, the forensics ring (32 rounds, last
 * log_msg), the class counted in guest_server_loss_class_total, defer-starved's hold and its counters, and
 * no timer left after close.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { FORENSICS_ROUNDS, ManualClock, hasErrorCode } from '@guesthb/protocol';
import { buildConfig } from '../src/config.js';
import { describe, expect, it } from 'vitest';
import { Corroborator, type CorroborateMode } from '../src/corroborator.js';
import { ForensicsRing } from '../src/forensics-ring.js';
import type { ProcSample, VmmProbe } from '../src/vmm-probe.js';

const UUID = '11111111-2222-3333-4444-555555555555';
const PATH = '/ch/cgcs.heartbeat.x.sock';

/** A probe whose process does what the test says: `next` is the sample's progress since the previous one. */
class ScriptedProbe implements VmmProbe {
  locates: string[][] = [];
  samples = 0;
  pid: number | undefined = 77;
  state = 'S';
  runnable = 0;
  perSample = { cpuNs: 5e6, waitNs: 1e6, slices: 10 };
  #total = { cpuNs: 0, waitNs: 0, slices: 0 };
  async locate(paths: readonly string[]): Promise<Map<string, number>> {
    this.locates.push([...paths]);
    return new Map(this.pid === undefined ? [] : paths.map((p) => [p, this.pid as number]));
  }
  vcpuThreads(): number[] {
    return [78];
  }
  sample(): ProcSample {
    this.samples++;
    const t = this.#total;
    t.cpuNs += this.perSample.cpuNs;
    t.waitNs += this.perSample.waitNs;
    t.slices += this.perSample.slices;
    return { state: this.state, ...t, runnable: this.runnable, tidMissing: false };
  }
}

function setup(mode: CorroborateMode = 'report', challenged = true, risk = { atRisk: true }): { c: Corroborator; clock: ManualClock; probe: ScriptedProbe; registry: Registry } {
  const clock = new ManualClock(1_000);
  const probe = new ScriptedProbe();
  const registry = new Registry();
  const c = new Corroborator({
    clock, log: pino({ level: 'silent' }), probe, registry, mode: () => mode, deferMs: () => undefined, tickMs: () => 400,
    intervalOf: () => (challenged ? 1_000 : undefined), atRisk: () => risk.atRisk, failureThreshold: () => 1,
  });
  return { c, clock, probe, registry };
}

async function settle(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    clock.advance(100);
    await Promise.resolve();
    await Promise.resolve();
  }
}

async function counter(registry: Registry, name: string, labels?: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => labels === undefined || Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? Number.NaN;
}

describe('[16.1-2] locating and sampling', () => {
  it('locates in one batch, samples every 5 s while the guests answer, once per interval once one is at risk, and locates again on a reconnect', async () => {
    const risk = { atRisk: false };
    const { c, clock, probe } = setup('report', true, risk);
    c.start();
    c.connected(UUID, PATH);
    c.connected('22222222-2222-3333-4444-555555555555', '/ch/other.sock');
    await settle(clock, 100);
    expect(probe.locates).toEqual([[PATH, '/ch/other.sock']]);
    expect(c.vmmOf(UUID)).toBe(77);
    const first = probe.samples;
    await settle(clock, 20_000);
    // A baseline every 5 s for the VMM (both channels share pid 77 here), on a 400 ms tick.
    expect(probe.samples - first).toBeGreaterThanOrEqual(3);
    expect(probe.samples - first).toBeLessThanOrEqual(5);
    risk.atRisk = true;
    const second = probe.samples;
    await settle(clock, 10_000);
    // At risk: one sample per 1000 ms interval.
    expect(probe.samples - second).toBeGreaterThanOrEqual(8);
    expect(probe.samples - second).toBeLessThanOrEqual(13);
    c.connected(UUID, PATH);
    await settle(clock, 2_500);
    expect(probe.locates).toHaveLength(2);
    c.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not sample an instance that is not challenged; off does nothing at all', async () => {
    const idle = setup('report', false);
    idle.c.start();
    idle.c.connected(UUID, PATH);
    await settle(idle.clock, 5_000);
    expect(idle.probe.samples).toBe(1); // the one taken when it was found
    idle.c.close();
    const off = setup('off');
    off.c.start();
    off.c.connected(UUID, PATH);
    await settle(off.clock, 5_000);
    expect(off.probe.locates).toEqual([]);
    expect(off.c.corroborate(UUID, 'loss')).toBeUndefined();
    off.c.close();
    expect(off.clock.pendingTimers).toBe(0);
  });
});

describe('[16.3-5] reports', () => {
  it('a loss carries the class, evidence, rounds (answered, then missed) and the last log_msg; counted by class', async () => {
    const { c, clock, probe, registry } = setup();
    c.start();
    c.connected(UUID, PATH);
    await settle(clock, 3_000);
    c.answered(UUID, 2.5);
    c.logMsg(UUID, 'disk almost full');
    c.logMsg(UUID, '');
    probe.perSample = { cpuNs: 0, waitNs: 0, slices: 0 };
    await settle(clock, 2_000);
    c.missed(UUID, 1_000);
    await settle(clock, 1_000);
    c.missed(UUID, 1_000);
    const out = c.corroborate(UUID, 'loss');
    expect(out?.class).toBe('vcpus-paused');
    expect(out?.evidence).toMatchObject({ pid: 77, vcpus: 1, cpuPct: 0, slices: 0 });
    expect(out?.rounds.map((r) => r.rttMs)).toEqual([2.5, null, null]);
    expect(out?.lastLogMsg).toBe('disk almost full');
    expect(out?.deferredMs).toBeUndefined();
    expect(await counter(registry, 'guest_server_loss_class_total', { report: 'loss', class: 'vcpus-paused' })).toBe(1);
    expect(await counter(registry, 'guest_server_loss_class_total', { report: 'ill-health', class: 'unknown' })).toBe(0);
    c.close();
  });

  it('no VMM found: unknown, with the rounds still attached', async () => {
    const { c, clock, probe } = setup();
    probe.pid = undefined;
    c.start();
    c.connected(UUID, PATH);
    await settle(clock, 500);
    c.missed(UUID, 1_000);
    expect(c.corroborate(UUID, 'ill-health')).toMatchObject({ class: 'unknown', rounds: [{ rttMs: null }] });
    c.close();
  });

  it('defer-starved holds a host-starved loss for one more window, counts it, and counts it avoided when the guest answers', async () => {
    const { c, clock, probe, registry } = setup('defer-starved');
    c.start();
    c.connected(UUID, PATH);
    await settle(clock, 3_000);
    probe.runnable = 1;
    probe.state = 'R';
    probe.perSample = { cpuNs: 0, waitNs: 0, slices: 0 };
    await settle(clock, 2_000);
    const log = pino({ level: 'silent' });
    expect(c.holdLoss(UUID, clock.now(), log)).toBe(clock.now() + 2_000);
    expect(await counter(registry, 'guest_server_loss_deferrals_total')).toBe(1);
    c.answered(UUID, 900);
    expect(await counter(registry, 'guest_server_loss_deferrals_avoided_total')).toBe(1);
    // Held again and this time reported: the loss says how long it was held.
    expect(c.holdLoss(UUID, clock.now(), log)).toBeDefined();
    await settle(clock, 2_000);
    const out = c.corroborate(UUID, 'loss');
    expect(out).toMatchObject({ class: 'host-starved', deferredMs: 2_000 });
    // Not starved: not held.
    probe.runnable = 0;
    probe.state = 'S';
    probe.perSample = { cpuNs: 50e6, waitNs: 0, slices: 30 };
    await settle(clock, 3_000);
    expect(c.holdLoss(UUID, clock.now(), log)).toBeUndefined();
    expect(setup('report').c.holdLoss(UUID, 0, log)).toBeUndefined();
    c.forget(UUID);
    expect(c.vmmOf(UUID)).toBeUndefined();
    c.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('[16.5] forensics ring', () => {
  it('keeps the last 32 rounds oldest first, with their age; a long log_msg is cut at 256', () => {
    const ring = new ForensicsRing();
    for (let i = 0; i < 40; i++) {
      if (i % 5 === 4) ring.missed(i * 1_000);
      else ring.answered(i * 1_000 + 3, 3);
    }
    const rounds = ring.rounds(40_000);
    expect(rounds).toHaveLength(FORENSICS_ROUNDS);
    expect(rounds[0]).toEqual({ agoMs: 32_000, rttMs: 3 });
    expect(rounds.at(-1)).toEqual({ agoMs: 1_000, rttMs: null });
    ring.logMsg('x'.repeat(300));
    expect(ring.lastLogMsg).toHaveLength(256);
  });
});

describe('[16.4] configuration', () => {
  const build = (ini: string): ReturnType<typeof buildConfig> => buildConfig({ iniText: `[client]\n${ini}`, cli: {}, osHostname: 'h' });
  it('corroborate defaults to report; defer-starved with its hold; a bad value names the key', () => {
    expect(build('')).toMatchObject({ corroborate: 'report', corroborateDeferMs: undefined });
    expect(build('corroborate = defer-starved\ncorroborate_defer_ms = 5000\n')).toMatchObject({ corroborate: 'defer-starved', corroborateDeferMs: 5000 });
    expect(build('corroborate = off\n').corroborate).toBe('off');
    for (const bad of ['corroborate = maybe\n', 'corroborate_defer_ms = 0\n']) {
      let err: unknown;
      try {
        build(bad);
      } catch (e) {
        err = e;
      }
      expect(hasErrorCode(err, 'KIT_ERR_CONFIG_INVALID')).toBe(true);
      expect(String((err as Error).message)).toContain('[client] corroborate');
    }
  });
});
