/**
 * The driver of one watchdog (STYLE.md R5): feeds node input and its single timer into the pure
 * reducer, and performs the effects: pulses and replies on awd_node, events, and the notification.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '@guesthb/protocol';
import type { InputMode } from './config.js';
import { afterPendingIo } from './clock.js';
import type { AwdEvent, EventSink } from './events.js';
import { createInputDecoder, PULSE_FRAME, REPLY_FRAME, WATCHDOG1_LINE, type InputDecoder } from './input-decoder.js';
import type { NotifyResult } from './notifier.js';
import {
  stepWatchdog,
  type WatchdogEffect,
  type WatchdogEvent,
  type WatchdogPolicy,
  type WatchdogState,
  type WatchdogStep,
} from './watchdog-machine.js';

/** What the watchdog needs from its awd_node. */
export interface PulsePort {
  write(data: Buffer): boolean;
}

/** Counters the driver reports (metrics.ts implements them with prom-client). */
export interface WatchdogMetrics {
  input(watchdog: string): void;
  pulse(watchdog: string, sent: boolean): void;
  timeout(watchdog: string, lateMs: number): void;
  stalled(watchdog: string): void;
  recovered(watchdog: string): void;
  notification(watchdog: string, ok: boolean): void;
}

export interface WatchdogDeps {
  readonly id: string;
  readonly policy: WatchdogPolicy;
  readonly input: InputMode;
  /** The patch's `server` property: off = reply to every received frame (awd spec §1). */
  readonly server: boolean;
  readonly clock: Clock;
  readonly log: Logger;
  readonly port: PulsePort;
  readonly events: EventSink;
  /** Delivers the script; `signal` aborts when the watchdog closes. */
  readonly notify: (signal: AbortSignal) => Promise<NotifyResult>;
  readonly metrics?: WatchdogMetrics;
  /**
   * Runs `fn` once input already waiting in the sockets has been read (default: setImmediate, which
   * runs after the event loop's poll phase). Tests with a ManualClock inject their own.
   */
  readonly afterPendingIo?: (fn: () => void) => void;
}

export class Watchdog {
  readonly #deps: WatchdogDeps;
  readonly #decoder: InputDecoder;
  #state: WatchdogState = { kind: 'idle' };
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** Serialises notifications: at most the running one plus one queued (bounded). */
  #notifying: Promise<void> = Promise.resolve();
  #queued = 0;
  #problems = 0;
  readonly #closing = new AbortController();
  #counts = { inputs: 0, pulses: 0, timeouts: 0, recoveries: 0, notified: 0, notifyFailed: 0, stalls: 0, spared: 0 };

  constructor(deps: WatchdogDeps) {
    this.#deps = deps;
    this.#decoder = createInputDecoder(deps.input);
  }

  get id(): string {
    return this.#deps.id;
  }

  get state(): WatchdogState {
    return this.#state;
  }

  start(): void {
    this.#dispatch('start');
  }

  /** Bytes from awd_node. */
  receive(chunk: Buffer): void {
    const result = this.#decoder.push(chunk);
    for (const problem of result.problems) {
      // A peer that streams garbage must not flood the log: the first, then every 100th.
      if (this.#problems++ % 100 === 0) this.#deps.log.warn({ problem, count: this.#problems }, 'awd_node input problem');
    }
    if (!this.#deps.server) for (let i = 0; i < result.replies; i++) this.#deps.port.write(this.#replyBytes());
    if (result.inputs === 0) return;
    this.#counts.inputs += result.inputs;
    for (let i = 0; i < result.inputs; i++) this.#deps.metrics?.input(this.#deps.id);
    this.#dispatch('input');
  }

  /** awd_node lost its peer: drop partial input so the next connection starts in step (awd spec §2.4). */
  disconnected(): void {
    this.#decoder.reset();
  }

  /** Stops timers; resolves once a running notification has finished. Idempotent. */
  async close(): Promise<void> {
    this.#dispatch('stop');
    this.#closing.abort();
    await this.#notifying;
  }

  toJSON(): object {
    return { id: this.#deps.id, state: this.#state, ...this.#counts };
  }

  #replyBytes(): Buffer {
    return this.#deps.input === 'watchdog1' ? WATCHDOG1_LINE : REPLY_FRAME;
  }

  #dispatch(type: WatchdogEvent['type']): void {
    this.#apply(stepWatchdog(this.#deps.policy, this.#state, { type, at: this.#deps.clock.now() }));
  }

  #apply([next, effects]: WatchdogStep): void {
    const prev = this.#state;
    this.#state = next;
    if (prev.kind !== next.kind) this.#deps.log.debug({ from: prev.kind, to: next.kind }, 'watchdog state');
    for (const effect of effects) {
      // An effect may re-enter (an event sink that closes the watchdog): the rest belong to a stale step.
      if (this.#state !== next) break;
      this.#perform(effect);
    }
  }

  #perform(effect: WatchdogEffect): void {
    const { id, log, metrics } = this.#deps;
    switch (effect.type) {
      case 'schedule':
        this.#schedule(effect.at);
        return;
      case 'cancel':
        this.#cancel();
        return;
      case 'send-pulse': {
        const sent = this.#deps.port.write(this.#deps.input === 'watchdog1' ? WATCHDOG1_LINE : PULSE_FRAME);
        if (sent) this.#counts.pulses++;
        metrics?.pulse(id, sent);
        return;
      }
      case 'drain':
        (this.#deps.afterPendingIo ?? afterPendingIo)(() => this.#dispatch('drained'));
        return;
      case 'fire': {
        this.#counts.timeouts++;
        metrics?.timeout(id, effect.lateMs);
        const stalled = effect.stallMs > 0;
        log.warn(
          { silentMs: effect.silentMs, lateMs: effect.lateMs, ...(stalled ? { stallMs: effect.stallMs } : {}) },
          stalled ? 'watchdog timeout after awd itself stalled (no input was waiting)' : 'watchdog timeout',
        );
        const base = { event: 'timeout', watchdog: id, silentMs: Math.round(effect.silentMs), lateMs: round3(effect.lateMs) } as const;
        this.#emit(stalled ? { ...base, stallMs: Math.round(effect.stallMs) } : base);
        this.#startNotification();
        return;
      }
      case 'stalled':
        this.#counts.stalls++;
        metrics?.stalled(id);
        log.warn({ lateMs: Math.round(effect.lateMs) }, 'awd stalled: timer ran late; reading pending input before any decision');
        return;
      case 'spared':
        this.#counts.spared++;
        log.info({ pastDeadlineMs: round3(effect.pastDeadlineMs) }, 'input was waiting when the deadline passed: not firing');
        return;
      case 'recovered':
        this.#counts.recoveries++;
        metrics?.recovered(id);
        log.info({ outageMs: effect.outageMs }, 'watchdog recovered');
        this.#emit({ event: 'recovered', watchdog: id, outageMs: Math.round(effect.outageMs) });
        return;
    }
  }

  /** One timer, armed for the exact instant; an earlier pending timer is kept and re-checks on wake. */
  #schedule(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#cancel();
    this.#timerAt = at;
    // ceil: a timer never fires early in whole ms, so the wake lands at or just after `at`.
    const delayMs = Math.max(0, Math.ceil(at - this.#deps.clock.now()));
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#dispatch('wake');
    }, delayMs);
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #startNotification(): void {
    if (this.#queued >= 1) {
      this.#deps.log.warn('notification already queued; this timeout is not notified again');
      return;
    }
    this.#queued++;
    this.#notifying = this.#notifying.then(async () => {
      this.#queued--;
      if (this.#closing.signal.aborted) return;
      const result = await this.#deps.notify(this.#closing.signal);
      this.#report(result);
    });
  }

  #report(result: NotifyResult): void {
    const { id, metrics } = this.#deps;
    metrics?.notification(id, result.ok);
    const base = {
      watchdog: id, mode: result.mode, attempts: result.attempts, commands: result.commands,
      ...(result.commandCount === undefined ? {} : { commandCount: result.commandCount }),
    };
    if (result.ok) {
      this.#counts.notified++;
      this.#emit({ event: 'notified', ...base });
    } else {
      this.#counts.notifyFailed++;
      this.#deps.log.error({ reason: result.reason }, 'notification failed');
      this.#emit({ event: 'notify-failed', ...base, reason: result.reason ?? 'unknown' });
    }
  }

  #emit(event: AwdEvent): void {
    this.#deps.events.emit(event);
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
