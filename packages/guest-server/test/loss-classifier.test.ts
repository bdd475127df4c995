/**
 * [16.3] The classifier on /proc samples recorded from a real QEMU (fixtures/qemu-proc-samples.json: TCG,
 * one vCPU, every 500 ms): the guest running with its responder dead, after QMP stop, after SIGSTOP, under a
 * cgroup CPU quota of 1 ms/s, and after the process exited. The raw text goes through the same parsers as
 * in production. Then the edges: a spinning guest, no process, no vCPU threads, a changed vCPU set.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyLoss, type VmmSample } from '../src/loss-classifier.js';
import { parseSchedstat, processStateOf } from '../src/vmm-locator.js';

interface Snap {
  readonly atMs: number;
  readonly stat: string | null;
  readonly threads: Record<string, { readonly comm: string; readonly stat: string; readonly schedstat: string }>;
}
const recorded = JSON.parse(readFileSync(new URL('./fixtures/qemu-proc-samples.json', import.meta.url), 'utf8')) as { phases: Record<string, Snap[]> };

/** A recorded snapshot as the corroborator samples it. */
function toSample(s: Snap): VmmSample {
  const threads = Object.values(s.threads);
  let cpuNs = 0;
  let waitNs = 0;
  let slices = 0;
  let runnable = 0;
  for (const t of threads) {
    const st = parseSchedstat(t.schedstat);
    if (st === undefined) throw new Error('bad fixture');
    cpuNs += st.cpuNs;
    waitNs += st.waitNs;
    slices += st.slices;
    if (processStateOf(t.stat) === 'R') runnable++;
  }
  return { at: s.atMs, state: s.stat === null ? 'gone' : processStateOf(s.stat) ?? '?', vcpus: s.stat === null ? 1 : threads.length, generation: 1, cpuNs, waitNs, slices, runnable };
}

const phase = (name: string): VmmSample[] => (recorded.phases[name] ?? []).map(toSample);
const PID = 4242;

describe('[16.3] classes from recorded QEMU samples', () => {
  it('responder killed inside the VM, the OS runs: guest-alive-heartbeat-dead', () => {
    const c = classifyLoss({ pid: PID, samples: phase('alive'), windowMs: 1_500 });
    expect(c.class).toBe('guest-alive-heartbeat-dead');
    expect(c.evidence).toMatchObject({ pid: PID, processState: 'S', vcpus: 1, runnable: 0 });
    expect(c.evidence.slices).toBeGreaterThan(1);
  });

  it('QMP stop: no vCPU ran or waited: vcpus-paused', () => {
    const c = classifyLoss({ pid: PID, samples: phase('qmp-stop'), windowMs: 1_500 });
    expect(c.class).toBe('vcpus-paused');
    expect(c.evidence).toMatchObject({ cpuPct: 0, waitPct: 0, slices: 0 });
  });

  it('SIGSTOP of QEMU: vmm-stopped', () => {
    expect(classifyLoss({ pid: PID, samples: phase('sigstop'), windowMs: 1_500 }).class).toBe('vmm-stopped');
  });

  it('a 1 ms/s CPU quota: the vCPU is runnable and waits: host-starved', () => {
    const c = classifyLoss({ pid: PID, samples: phase('starved'), windowMs: 2_000 });
    expect(c.class).toBe('host-starved');
    expect(c.evidence.runnable).toBe(1);
    expect(c.evidence.waitPct).toBeGreaterThan(c.evidence.cpuPct ?? 0);
  });

  it('the process exited: vmm-gone', () => {
    expect(classifyLoss({ pid: PID, samples: [...phase('starved'), ...phase('gone')], windowMs: 2_000 }).class).toBe('vmm-gone');
  });
});

describe('[16.3] edges', () => {
  const sample = (at: number, cpuMs: number, waitMs: number, slices: number, patch: Partial<VmmSample> = {}): VmmSample => ({
    at, state: 'S', vcpus: 2, generation: 1, cpuNs: cpuMs * 1e6, waitNs: waitMs * 1e6, slices, runnable: 0, ...patch,
  });

  it('vCPUs near 100 % (a spinning kernel or a hog): guest-busy, even while it also waits a little', () => {
    const c = classifyLoss({ pid: 1, samples: [sample(0, 0, 0, 0), sample(1_000, 1_900, 50, 400, { state: 'R', runnable: 2 })], windowMs: 1_000 });
    expect(c.class).toBe('guest-busy');
    expect(c.evidence).toMatchObject({ cpuPct: 95, waitPct: 2.5, vcpus: 2, windowMs: 1_000, samples: 2 });
  });

  it('a vCPU that ran enough to answer is not starved, however long it also waited on a busy host', () => {
    // Recorded in a run on a loaded 2-core box: 3.4 % CPU, 22 % wait, the responder dead.
    const c = classifyLoss({ pid: 1, samples: [sample(0, 0, 0, 0, { vcpus: 1 }), sample(1_600, 54, 352, 180, { vcpus: 1 })], windowMs: 1_600 });
    expect(c.class).toBe('guest-alive-heartbeat-dead');
  });

  it('a stall with the main loop runnable in one sample is paused; runnable in the last two, starved', () => {
    const stall = (runnable: number, state: string, at: number): VmmSample => sample(at, 0, 0, 0, { vcpus: 1, runnable, state });
    expect(classifyLoss({ pid: 1, samples: [stall(0, 'S', 0), stall(0, 'S', 500), stall(0, 'R', 1_000)], windowMs: 1_000 }).class).toBe('vcpus-paused');
    expect(classifyLoss({ pid: 1, samples: [stall(0, 'S', 0), stall(0, 'R', 500), stall(0, 'R', 1_000)], windowMs: 1_000 }).class).toBe('host-starved');
    expect(classifyLoss({ pid: 1, samples: [stall(0, 'S', 0), stall(1, 'S', 500), stall(1, 'S', 1_000)], windowMs: 1_000 }).class).toBe('host-starved');
  });

  it('no process found, no vCPU threads (QEMU without debug-threads), a single sample: unknown', () => {
    expect(classifyLoss({ pid: undefined, samples: [], windowMs: 1_000 })).toEqual({ class: 'unknown', evidence: { vcpus: 0, windowMs: 0, samples: 0 } });
    expect(classifyLoss({ pid: 1, samples: [sample(0, 0, 0, 0, { vcpus: 0 }), sample(1_000, 0, 0, 0, { vcpus: 0 })], windowMs: 1_000 }).class).toBe('unknown');
    expect(classifyLoss({ pid: 1, samples: [sample(0, 0, 0, 0)], windowMs: 1_000 }).class).toBe('unknown');
  });

  it('sums of another vCPU set are not compared; the baseline is the last sample at or before the window', () => {
    const changed = [sample(0, 0, 0, 0, { generation: 1 }), sample(1_000, 10, 0, 5, { generation: 2 })];
    expect(classifyLoss({ pid: 1, samples: changed, windowMs: 1_000 }).class).toBe('unknown');
    const s = [sample(0, 0, 0, 0), sample(500, 0, 0, 0), sample(1_000, 0, 0, 0), sample(1_500, 0, 0, 0)];
    expect(classifyLoss({ pid: 1, samples: s, windowMs: 800 }).evidence).toMatchObject({ windowMs: 1_000, samples: 3 });
  });
});
