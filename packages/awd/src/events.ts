/** The JSON-lines event log (README "Events"): one object per line, wall-clock `time` first. */
import type { Writable } from 'node:stream';

export type AwdEvent =
  /** `stallMs`: present when the firing came after awd itself stalled that long (and no input was waiting). */
  | { readonly event: 'timeout'; readonly watchdog: string; readonly silentMs: number; readonly lateMs: number; readonly stallMs?: number }
  | { readonly event: 'recovered'; readonly watchdog: string; readonly outageMs: number }
  | {
      readonly event: 'notified';
      readonly watchdog: string;
      readonly mode: string;
      readonly attempts: number;
      readonly commands: readonly CommandRecord[];
      /** Present when the transcript was cut (see `boundTranscript`): how many commands there were. */
      readonly commandCount?: number;
    }
  | {
      readonly event: 'notify-failed';
      readonly watchdog: string;
      readonly mode: string;
      readonly attempts: number;
      readonly reason: string;
      readonly commands: readonly CommandRecord[];
      readonly commandCount?: number;
    }
  | { readonly event: 'connected' | 'disconnected'; readonly watchdog: string; readonly node: string };

/** One command written to a monitor and what came back (answer is null when nothing did). */
export interface CommandRecord {
  readonly sent: string;
  readonly answer: string | null;
  readonly ok: boolean;
}

/** Commands kept in one event's transcript, and characters kept of each text in it. */
export const MAX_TRANSCRIPT_COMMANDS = 100;
export const MAX_TRANSCRIPT_TEXT_CHARS = 1000;

/**
 * The transcript of one notification, bounded as it is written: a 1 MiB script must not keep tens of
 * thousands of records alive, nor become a multi-megabyte JSON line serialised on the event loop. Keeps
 * the first commands, then only rejected ones (up to the same number), each text cut; counts them all.
 */
export class Transcript {
  readonly #kept: CommandRecord[] = [];
  #count = 0;
  #extraRejected = 0;
  #firstRejected: CommandRecord | undefined;

  add(record: CommandRecord): void {
    this.#count++;
    const small = { sent: cut(record.sent), answer: record.answer === null ? null : cut(record.answer), ok: record.ok };
    if (!record.ok) this.#firstRejected ??= small;
    if (this.#kept.length < MAX_TRANSCRIPT_COMMANDS) this.#kept.push(small);
    else if (!record.ok && this.#extraRejected < MAX_TRANSCRIPT_COMMANDS) {
      this.#extraRejected++;
      this.#kept.push(small);
    }
  }

  /** Commands recorded (all of them, kept or not). */
  get count(): number {
    return this.#count;
  }

  get firstRejected(): CommandRecord | undefined {
    return this.#firstRejected;
  }

  /** The kept records, plus `commandCount` when some were left out. */
  toEvent(): { commands: CommandRecord[]; commandCount?: number } {
    return this.#kept.length === this.#count ? { commands: [...this.#kept] } : { commands: [...this.#kept], commandCount: this.#count };
  }
}

/** A text cut to MAX_TRANSCRIPT_TEXT_CHARS for events and log lines, saying how long it was. */
export function cut(text: string): string {
  return text.length <= MAX_TRANSCRIPT_TEXT_CHARS ? text : `${text.slice(0, MAX_TRANSCRIPT_TEXT_CHARS)}… (${text.length} chars)`;
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
