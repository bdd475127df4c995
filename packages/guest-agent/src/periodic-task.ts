/**
 * Runs an async pass on a Clock: first after firstDelayMs, then periodMs after each pass completes, so
 * passes never overlap. One timer; close() clears it and waits for a running pass (STYLE.md R5, R13).
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '@guesthb/protocol';

export interface PeriodicTaskDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly firstDelayMs: number;
  periodMs: number;
  readonly run: () => Promise<void>;
}

export class PeriodicTask {
  readonly #deps: PeriodicTaskDeps;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #passes = 0;

  constructor(deps: PeriodicTaskDeps) {
    this.#deps = deps;
  }

  get passes(): number {
    return this.#passes;
  }

  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#arm(this.#deps.firstDelayMs);
  }

  /** Applies a new period from the next pass on (SIGHUP). */
  setPeriod(periodMs: number): void {
    this.#deps.periodMs = periodMs;
  }

  /** Runs a pass now unless one is running; resolves when it ends (tests, triggers). */
  async runNow(): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pass();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #arm(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#pass();
    }, delayMs);
  }

  #pass(): Promise<void> {
    this.#running = this.#deps.run().catch((err: unknown) => {
      this.#deps.log.error({ err }, 'periodic pass failed');
    }).finally(() => {
      this.#running = undefined;
      this.#passes++;
      this.#arm(this.#deps.periodMs);
    });
    return this.#running;
  }
}
