/**
 * Firing-error benchmark (for the Proof issue): feeds one input to a real-clock watchdog, records when
 * it fires, and reports actual − configured timeout over N trials. No sockets: only the timer path.
 */
import { pino } from 'pino';
import type { Clock } from '@guesthb/protocol';
import { systemClock } from './clock.js';
import { Watchdog } from './watchdog.js';

export interface FiringBenchOptions {
  /** Number of firings measured (default 200). */
  readonly trials?: number;
  /** Configured timeout of each trial (default 50 ms). */
  readonly timeoutMs?: number;
  /** Watchdogs running at once (default 1); more shows the error under load. */
  readonly concurrency?: number;
  readonly clock?: Clock;
}

export interface FiringBenchResult {
  readonly trials: number;
  readonly timeoutMs: number;
  /** Firing error in ms: actual firing time − (last input + timeout). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly minMs: number;
}

/** Measures the watchdog's firing error with the real monotonic clock; resolves with percentiles. */
export async function benchFiring(options: FiringBenchOptions = {}): Promise<FiringBenchResult> {
  const trials = options.trials ?? 200;
  const timeoutMs = options.timeoutMs ?? 50;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const clock = options.clock ?? systemClock;
  const errors: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < trials) {
      next++;
      errors.push(await oneTrial(clock, timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  errors.sort((a, b) => a - b);
  const pick = (q: number): number => errors[Math.min(errors.length - 1, Math.ceil(q * errors.length) - 1)] ?? 0;
  return { trials, timeoutMs, p50Ms: pick(0.5), p99Ms: pick(0.99), maxMs: errors.at(-1) ?? 0, minMs: errors[0] ?? 0 };
}

function oneTrial(clock: Clock, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let inputAt = 0;
    const watchdog = new Watchdog({
      id: 'bench',
      policy: { pulseIntervalMs: 3_600_000, timeoutMs, armAtStart: false, stallThresholdMs: 500 },
      input: 'any',
      server: true,
      clock,
      log: pino({ level: 'silent' }),
      port: { write: () => true },
      events: {
        emit: (event) => {
          if (event.event !== 'timeout') return;
          const firedAt = clock.now();
          void watchdog.close();
          resolve(firedAt - inputAt - timeoutMs);
        },
      },
      notify: () => Promise.resolve({ ok: true, mode: 'raw', attempts: 1, commands: [] }),
    });
    watchdog.start();
    inputAt = clock.now();
    watchdog.receive(Buffer.from('x'));
  });
}
