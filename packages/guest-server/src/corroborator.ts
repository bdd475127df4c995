/**
 * Host-side corroboration (issue 16): finds each channel's QEMU process, samples it about once per heartbeat
 * interval, keeps each instance's forensics ring, and classifies a loss or ill-health report from the
 * samples of the window the guest had to answer. One timer (the sampling tick) and at most one /proc scan
 * at a time. The rules are loss-classifier.ts; the reads, vmm-probe.ts.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { LOSS_CLASSES, type Clock, type Corroboration, type LossClass, type TimerHandle } from '@guesthb/protocol';
import { ForensicsRing } from './forensics-ring.js';
import type { InstanceLogger } from './instance-log.js';
import type { InstanceState } from './instance-state.js';
import { classifyLoss, type VmmSample } from './loss-classifier.js';
import type { VmmProbe } from './vmm-probe.js';

/** [client] corroborate: off, report (classify and report), defer-starved (also hold losses classed host-starved). */
export const CORROBORATE_MODES = ['off', 'report', 'defer-starved'] as const;
export type CorroborateMode = (typeof CORROBORATE_MODES)[number];

/** Samples kept per VMM: enough for the longest detection window at the usual thresholds, plus the baseline. */
export const SAMPLES_PER_VMM = 16;
/** Least time between two /proc scans that locate VMMs (a scan reads every process's fd table). */
export const LOCATE_GAP_MS = 2_000;
/** A VMM's vCPU thread list is read again at most this often when it found none (QEMU still starting). */
const VCPU_RETRY_MS = 5_000;
/**
 * While all its guests answer, a VMM is sampled this often (a baseline); once one of them leaves a challenge
 * unanswered for half an interval, once per interval until it answers. A healthy fleet of 2000 one-vCPU
 * QEMUs then costs 400 samples a second instead of 5000 at 400 ms (bench/corroboration.js times a sample).
 */
export const BASELINE_SAMPLE_MS = 5_000;

export interface CorroboratorDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly probe: VmmProbe;
  readonly registry: Registry;
  readonly mode: () => CorroborateMode;
  /** [client] corroborate_defer_ms; undefined = one more detection window. */
  readonly deferMs: () => number | undefined;
  /** Sampling tick (the pulse period: the shortest interval a guest may have). */
  readonly tickMs: () => number;
  /** The instance's heartbeat interval while it is challenged, else undefined (then it is not sampled). */
  readonly intervalOf: (uuid: string) => number | undefined;
  /** The instance's last challenge has gone unanswered for half an interval, or a window was missed. */
  readonly atRisk: (uuid: string) => boolean;
  /** hbs_failure_threshold: the detection window is (threshold + 1) intervals. */
  readonly failureThreshold: () => number;
}

/** What a session feeds per heartbeat (corroboration-hooks.ts). */
export interface InstanceTracker {
  answered(rttMs: number): void;
  missed(intervalMs: number): void;
  logMsg(text: string): void;
}

/** What every instance record shares: the clock, and the counter of held losses the guest answered. */
interface RecordShared {
  readonly clock: Clock;
  readonly avoided: Counter;
}

/**
 * One instance's corroboration record, and the tracker its session feeds: methods of the record, not three
 * closures and their context per instance (issue 17 item 4).
 */
class InstanceRecord implements InstanceTracker {
  path: string | undefined = undefined;
  pid: number | undefined = undefined;
  readonly ring = new ForensicsRing();
  /** A loss held at this time (monotonic ms), until answered or reported. */
  heldAt: number | undefined = undefined;
  readonly #shared: RecordShared;

  constructor(shared: RecordShared) {
    this.#shared = shared;
  }

  answered(rttMs: number): void {
    this.ring.answered(this.#shared.clock.now(), rttMs);
    if (this.heldAt !== undefined) {
      this.heldAt = undefined;
      this.#shared.avoided.inc();
    }
  }

  missed(intervalMs: number): void {
    this.ring.missed(this.#shared.clock.now() - intervalMs);
  }

  logMsg(text: string): void {
    if (text.length > 0) this.ring.logMsg(text);
  }
}

interface VmmRecord {
  readonly pid: number;
  tids: number[];
  tidsReadAt: number;
  generation: number;
  readonly samples: VmmSample[];
  readonly uuids: Set<string>;
  gone: boolean;
}

export class Corroborator {
  readonly #deps: CorroboratorDeps;
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #vmms = new Map<number, VmmRecord>();
  readonly #toLocate = new Set<string>();
  readonly #classes: Counter<'report' | 'class'>;
  readonly #deferrals: Counter;
  readonly #avoided: Counter;
  readonly #shared: RecordShared;
  #timer: TimerHandle | undefined;
  #locateTimer: TimerHandle | undefined;
  #locating = false;
  #lastLocateAt = -Infinity;
  #closed = false;

  constructor(deps: CorroboratorDeps) {
    this.#deps = deps;
    const registers = [deps.registry];
    this.#classes = new Counter({
      name: 'guest_server_loss_class_total', help: 'Losses and ill-health reports by host-side class (issue 16)', labelNames: ['report', 'class'], registers,
    });
    for (const report of ['loss', 'ill-health']) for (const c of LOSS_CLASSES) this.#classes.inc({ report, class: c }, 0);
    this.#deferrals = new Counter({ name: 'guest_server_loss_deferrals_total', help: 'Losses held because the host starved the guest (defer-starved)', registers });
    this.#avoided = new Counter({ name: 'guest_server_loss_deferrals_avoided_total', help: 'Held losses dropped because the guest answered within the hold', registers });
    this.#shared = { clock: deps.clock, avoided: this.#avoided };
  }

  get active(): boolean {
    return this.#deps.mode() !== 'off';
  }

  /** defer-starved: losses classed host-starved are held. */
  get defers(): boolean {
    return this.#deps.mode() === 'defer-starved';
  }

  /** Starts the sampling tick. */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#arm();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    if (this.#locateTimer !== undefined) this.#deps.clock.clearTimeout(this.#locateTimer);
    this.#timer = undefined;
    this.#locateTimer = undefined;
  }

  /** The instance's channel connected (first time or re-created): find its VMM again. */
  connected(uuid: string, path: string): void {
    if (!this.active || this.#closed) return;
    const rec = this.#record(uuid);
    rec.path = path;
    this.#toLocate.add(uuid);
    this.#scheduleLocate();
  }

  /** After a session's step: a channel that just connected may belong to a new QEMU process. */
  stepped(uuid: string, state: InstanceState, before: InstanceState, channelPath: string | undefined): void {
    if (state.link.kind === 'connected' && before.link.kind !== 'connected' && channelPath !== undefined) this.connected(uuid, channelPath);
  }

  /** The instance is forgotten or deleted. */
  forget(uuid: string): void {
    const rec = this.#instances.get(uuid);
    if (rec === undefined) return;
    this.#instances.delete(uuid);
    this.#toLocate.delete(uuid);
    this.#detach(uuid, rec.pid);
  }

  /** A valid response, `rttMs` after its challenge. */
  answered(uuid: string, rttMs: number): void {
    this.tracker(uuid).answered(rttMs);
  }

  /** A window closed without a valid answer; its challenge went out one interval ago. */
  missed(uuid: string, intervalMs: number): void {
    this.tracker(uuid).missed(intervalMs);
  }

  /** A guest message's log_msg. */
  logMsg(uuid: string, text: string): void {
    this.tracker(uuid).logMsg(text);
  }

  /**
   * The per-heartbeat entry points bound to one instance's record (no map lookup per heartbeat); a session
   * takes it once. After forget(uuid) it feeds a record nobody reads, until the session is closed.
   */
  tracker(uuid: string): InstanceTracker {
    return this.#record(uuid);
  }

  /**
   * The policy's holdLoss: when a loss is due and the mode is defer-starved, classifies now; host-starved →
   * held (counted, logged as the loss it would have reported) until the returned time.
   */
  holdLoss(uuid: string, at: number, log: InstanceLogger): number | undefined {
    if (this.#deps.mode() !== 'defer-starved') return undefined;
    const windowMs = this.#windowMs(uuid);
    const c = this.#classify(uuid, windowMs);
    if (c.class !== 'host-starved') return undefined;
    const holdMs = this.#deps.deferMs() ?? windowMs;
    this.#record(uuid).heldAt = at;
    this.#deferrals.inc();
    log.warn({ lossClass: c.class, evidence: c.evidence, holdMs }, 'would have reported a heartbeat loss: held, the host starved the guest');
    return at + holdMs;
  }

  /** The corroboration of a report now (undefined when off); counts its class. */
  corroborate(uuid: string, report: 'loss' | 'ill-health'): Corroboration | undefined {
    if (!this.active) return undefined;
    const rec = this.#record(uuid);
    const now = this.#deps.clock.now();
    const c = this.#classify(uuid, this.#windowMs(uuid));
    this.#classes.inc({ report, class: c.class });
    const out: { -readonly [K in keyof Corroboration]: Corroboration[K] } = { class: c.class, evidence: c.evidence, rounds: rec.ring.rounds(now) };
    if (report === 'loss' && rec.heldAt !== undefined) {
      out.deferredMs = Math.max(0, Math.round(now - rec.heldAt));
      rec.heldAt = undefined;
    }
    if (rec.ring.lastLogMsg !== undefined) out.lastLogMsg = rec.ring.lastLogMsg;
    return out;
  }

  /** What an operator may want at any time: the VMM found for the instance (tests, diagnostics). */
  vmmOf(uuid: string): number | undefined {
    return this.#instances.get(uuid)?.pid;
  }

  /** The detection window: (threshold + 1) intervals, as the reducer counts misses. */
  #windowMs(uuid: string): number {
    const interval = this.#deps.intervalOf(uuid) ?? this.#deps.tickMs();
    return (this.#deps.failureThreshold() + 1) * interval;
  }

  #classify(uuid: string, windowMs: number): { readonly class: LossClass; readonly evidence: Corroboration['evidence'] } {
    const pid = this.#instances.get(uuid)?.pid;
    const vmm = pid === undefined ? undefined : this.#vmms.get(pid);
    if (vmm !== undefined) this.#sample(vmm, this.#deps.clock.now());
    return classifyLoss({ pid, samples: vmm?.samples ?? [], windowMs });
  }

  #record(uuid: string): InstanceRecord {
    let rec = this.#instances.get(uuid);
    if (rec === undefined) {
      rec = new InstanceRecord(this.#shared);
      this.#instances.set(uuid, rec);
    }
    return rec;
  }

  #detach(uuid: string, pid: number | undefined): void {
    if (pid === undefined) return;
    const vmm = this.#vmms.get(pid);
    if (vmm === undefined) return;
    vmm.uuids.delete(uuid);
    if (vmm.uuids.size === 0) this.#vmms.delete(pid);
  }

  #scheduleLocate(): void {
    if (this.#locating || this.#locateTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastLocateAt + LOCATE_GAP_MS - this.#deps.clock.now());
    this.#locateTimer = this.#deps.clock.setTimeout(() => {
      this.#locateTimer = undefined;
      void this.#locate();
    }, wait);
  }

  async #locate(): Promise<void> {
    this.#locating = true;
    this.#lastLocateAt = this.#deps.clock.now();
    const batch = [...this.#toLocate];
    this.#toLocate.clear();
    const paths = new Set<string>();
    for (const uuid of batch) {
      const path = this.#instances.get(uuid)?.path;
      if (path !== undefined) paths.add(path);
    }
    let found = new Map<string, number>();
    try {
      found = await this.#deps.probe.locate([...paths]);
    } catch (err) {
      this.#deps.log.warn({ err }, 'locating QEMU processes failed');
    }
    this.#locating = false;
    if (this.#closed) return;
    const now = this.#deps.clock.now();
    const fresh = new Set<VmmRecord>();
    for (const uuid of batch) {
      const rec = this.#instances.get(uuid);
      if (rec === undefined || rec.path === undefined) continue;
      const pid = found.get(rec.path);
      if (pid !== rec.pid) {
        this.#detach(uuid, rec.pid);
        rec.pid = pid;
        this.#deps.log.info({ uuid, pid: pid ?? null }, pid === undefined ? 'no VMM process found for the channel' : 'VMM process found for the channel');
      }
      if (pid === undefined) continue;
      let vmm = this.#vmms.get(pid);
      if (vmm === undefined || vmm.gone) {
        vmm = { pid, tids: [], tidsReadAt: -Infinity, generation: 0, samples: [], uuids: new Set(), gone: false };
        this.#vmms.set(pid, vmm);
      }
      vmm.uuids.add(uuid);
      fresh.add(vmm);
    }
    // One first sample per VMM, however many of its channels were in the batch.
    for (const vmm of fresh) this.#sample(vmm, now);
    if (this.#toLocate.size > 0) this.#scheduleLocate();
  }

  /** One sample of a VMM (and its vCPU list when it has none yet or a thread went away). */
  #sample(vmm: VmmRecord, now: number): void {
    if (vmm.gone) return;
    if (vmm.tids.length === 0 && now - vmm.tidsReadAt >= VCPU_RETRY_MS) this.#readTids(vmm, now);
    let s = this.#deps.probe.sample(vmm.pid, vmm.tids);
    if (s.tidMissing && s.state !== 'gone') {
      this.#readTids(vmm, now);
      s = this.#deps.probe.sample(vmm.pid, vmm.tids);
    }
    if (s.state === 'gone') vmm.gone = true;
    const samples = vmm.samples;
    if (samples.length >= SAMPLES_PER_VMM) samples.shift();
    samples.push({ at: now, state: s.state, vcpus: vmm.tids.length, generation: vmm.generation, cpuNs: s.cpuNs, waitNs: s.waitNs, slices: s.slices, runnable: s.runnable });
  }

  #readTids(vmm: VmmRecord, now: number): void {
    const tids = this.#deps.probe.vcpuThreads(vmm.pid) ?? [];
    vmm.tidsReadAt = now;
    if (tids.join(',') !== vmm.tids.join(',')) {
      vmm.tids = tids;
      vmm.generation++;
    }
  }

  /** The sampling tick: each VMM whose instances are challenged, once per (shortest) interval. */
  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
      this.#arm();
    }, this.#deps.tickMs());
  }

  #tick(): void {
    if (!this.active) return;
    const now = this.#deps.clock.now();
    const slack = this.#deps.tickMs() / 2;
    for (const vmm of this.#vmms.values()) {
      if (vmm.gone) continue;
      let interval = Infinity;
      let risk = false;
      for (const uuid of vmm.uuids) {
        const i = this.#deps.intervalOf(uuid);
        if (i === undefined) continue;
        interval = Math.min(interval, i);
        risk ||= this.#deps.atRisk(uuid);
      }
      if (interval === Infinity) continue;
      const period = risk ? interval : Math.max(interval, BASELINE_SAMPLE_MS);
      const last = vmm.samples[vmm.samples.length - 1];
      if (last === undefined || now - last.at >= period - slack) this.#sample(vmm, now);
    }
  }
}
