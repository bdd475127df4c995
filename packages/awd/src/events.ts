/** The JSON-lines event log (README "Events"): one object per line, wall-clock `time` first. */
import type { Writable } from 'node:stream';

export type AwdEvent =
  | { readonly event: 'timeout'; readonly watchdog: string; readonly silentMs: number; readonly lateMs: number }
  | { readonly event: 'recovered'; readonly watchdog: string; readonly outageMs: number }
  | {
      readonly event: 'notified';
      readonly watchdog: string;
      readonly mode: string;
      readonly attempts: number;
      readonly commands: readonly CommandRecord[];
    }
  | {
      readonly event: 'notify-failed';
      readonly watchdog: string;
      readonly mode: string;
      readonly attempts: number;
      readonly reason: string;
      readonly commands: readonly CommandRecord[];
    }
  | { readonly event: 'connected' | 'disconnected'; readonly watchdog: string; readonly node: string };

/** One command written to a monitor and what came back (answer is null when nothing did). */
export interface CommandRecord {
  readonly sent: string;
  readonly answer: string | null;
  readonly ok: boolean;
}

export interface EventSink {
  emit(event: AwdEvent): void;
}

/** Writes each event as one JSON line to `out` (a file stream in main.ts, a capture stream in tests). */
export function jsonLinesSink(out: Writable, now: () => Date = () => new Date()): EventSink {
  return {
    emit(event) {
      out.write(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`);
    },
  };
}

/** Fans one event out to several sinks; a throwing sink does not stop the others. */
export function fanOut(sinks: readonly EventSink[]): EventSink {
  return {
    emit(event) {
      for (const sink of sinks) {
        try {
          sink.emit(event);
        } catch {
          // A broken sink (closed file) must never stop the watchdog.
        }
      }
    },
  };
}
