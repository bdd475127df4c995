/**
 * Why did a guest go silent? (issue 16 item 3) A pure function of the QEMU process samples of the last
 * heartbeat intervals: no clock, no /proc reads (vmm-probe.ts takes the samples, corroborator.ts keeps them).
 * The rules are tested in order; README "Why a guest went silent" documents them and their limits.
 */
import type { CorroborationEvidence, LossClass } from '@guesthb/protocol';
import { isDeadState, isStoppedState } from './vmm-locator.js';

/** One sample of a VMM: its process state and the sums over its vCPU threads' schedstat. */
export interface VmmSample {
  /** Monotonic ms. */
  readonly at: number;
  /** The process state letter of /proc/<pid>/stat, or `gone` when the process no longer exists. */
  readonly state: string;
  /** vCPU threads summed in this sample. */
  readonly vcpus: number;
  /** Changes when the set of vCPU threads changed: sums of different generations are not comparable. */
  readonly generation: number;
  readonly cpuNs: number;
  readonly waitNs: number;
  readonly slices: number;
  /** vCPU threads in state R at the sample: running, or runnable and waiting for a CPU. */
  readonly runnable: number;
}

/** Thresholds of the rules, in % of the window per vCPU. */
export const CLASSIFY_THRESHOLDS = Object.freeze({
  /** vcpus-paused: less CPU and less waiting than this, and at most one scheduling per vCPU. */
  pausedMaxPct: 0.5,
  /**
   * host-starved: at least this much run-queue wait while the vCPUs got less CPU than starvedMaxCpuPct. A vCPU
   * that ran more than that had the time to answer a heartbeat (the responder needs about a millisecond),
   * however long it also waited on a busy host.
   */
  starvedMinWaitPct: 20,
  starvedMaxCpuPct: 1,
  /** guest-busy: CPU + wait at least this (the vCPUs wanted the whole window), mostly served. */
  busyMinDemandPct: 90,
});

export interface ClassifyInput {
  /** The QEMU process, or undefined when none was found for the channel. */
  readonly pid: number | undefined;
  /** Samples, oldest first (the last is the freshest, taken at the report). */
  readonly samples: readonly VmmSample[];
  /** The evidence window: the time the guest had to answer (from the first unanswered challenge), ms. */
  readonly windowMs: number;
}

export interface Classification {
  readonly class: LossClass;
  readonly evidence: CorroborationEvidence;
}

/** Classifies from the samples of the last `windowMs` (plus the one just before, as the baseline). */
export function classifyLoss(input: ClassifyInput): Classification {
  const { pid, samples } = input;
  const last = samples[samples.length - 1];
  if (pid === undefined || last === undefined) return { class: 'unknown', evidence: { vcpus: 0, windowMs: 0, samples: 0 } };
  const base = baselineOf(samples, last, input.windowMs);
  const windowMs = base === undefined ? 0 : last.at - base.at;
  const count = base === undefined ? 1 : samples.length - samples.indexOf(base);
  const evidence: { -readonly [K in keyof CorroborationEvidence]: CorroborationEvidence[K] } = {
    pid, processState: last.state, vcpus: last.vcpus, windowMs: round1(windowMs), samples: count,
  };
  if (isDeadState(last.state)) return { class: 'vmm-gone', evidence };
  if (isStoppedState(last.state)) return { class: 'vmm-stopped', evidence };
  if (last.vcpus === 0 || base === undefined || windowMs <= 0) return { class: 'unknown', evidence };
  const capacityNs = windowMs * 1e6 * last.vcpus;
  const cpuPct = (100 * Math.max(0, last.cpuNs - base.cpuNs)) / capacityNs;
  const waitPct = (100 * Math.max(0, last.waitNs - base.waitNs)) / capacityNs;
  const slices = Math.max(0, last.slices - base.slices);
  evidence.cpuPct = round1(cpuPct);
  evidence.waitPct = round1(waitPct);
  evidence.slices = slices;
  const t = CLASSIFY_THRESHOLDS;
  evidence.runnable = last.runnable;
  // A thread's run-queue wait is accounted only when it gets a CPU again: a vCPU that waits the whole window
  // shows almost no progress, like a paused one, but its state stays R (runnable) instead of S (sleeping).
  // A starved main loop (QEMU's I/O thread, the process state) leaves the vCPU halted and asleep: R there too.
  const prev = samples[samples.length - 2];
  // Runnable in two samples in a row: one sample catching the main loop at work is no evidence.
  const stuckRunnable = prev !== undefined && wantsCpu(last) && wantsCpu(prev) && cpuPct < t.starvedMaxCpuPct;
  if (cpuPct < t.pausedMaxPct && waitPct < t.pausedMaxPct && slices <= last.vcpus && !stuckRunnable) return { class: 'vcpus-paused', evidence };
  if (stuckRunnable || (waitPct >= t.starvedMinWaitPct && cpuPct < t.starvedMaxCpuPct)) return { class: 'host-starved', evidence };
  if (cpuPct + waitPct >= t.busyMinDemandPct) return { class: 'guest-busy', evidence };
  return { class: 'guest-alive-heartbeat-dead', evidence };
}

/**
 * The sample the deltas count from: the latest one at or before the window's start (so the whole window is
 * covered), else the oldest inside it; always of the last sample's vCPU generation.
 */
function baselineOf(samples: readonly VmmSample[], last: VmmSample, windowMs: number): VmmSample | undefined {
  const from = last.at - windowMs;
  let base: VmmSample | undefined;
  for (let i = samples.length - 2; i >= 0; i--) {
    const s = samples[i] as VmmSample;
    if (s.generation !== last.generation || isDeadState(s.state)) break;
    base = s;
    if (s.at <= from) break;
  }
  return base;
}

/** A vCPU thread or the main thread (QEMU's main loop) is running or waiting for a CPU. */
function wantsCpu(s: VmmSample): boolean {
  return s.runnable > 0 || s.state === 'R';
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
