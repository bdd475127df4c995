/**
 * The watchdog's timer rules as a pure reducer (STYLE.md R4): time comes in with each event, effects
 * go out as data. One wake-up time is computed per step (the earlier of the next pulse and the
 * deadline), so the driver needs exactly one timer, armed for the exact instant (awd spec §2.2, §2.3).
 */

export interface WatchdogPolicy {
  /** Period of the pulses sent on awd_node. */
  readonly pulseIntervalMs: number;
  /** Silence after the last input that fires the watchdog. */
  readonly timeoutMs: number;
  /** Arm the deadline at start (the patch arms only at the first complete frame). */
  readonly armAtStart: boolean;
}

export type WatchdogState =
  | { readonly kind: 'idle' }
  /** Started, no input yet: pulses run, nothing can fire (patch behaviour, awd spec §2.3). */
  | { readonly kind: 'waiting'; readonly nextPulseAt: number }
  | { readonly kind: 'armed'; readonly nextPulseAt: number; readonly deadline: number; readonly lastInputAt: number | null }
  /** Fired for this outage; stays here (no second action) until the next input. */
  | { readonly kind: 'fired'; readonly nextPulseAt: number; readonly firedAt: number; readonly lastInputAt: number | null }
  | { readonly kind: 'stopped' };

export type WatchdogEvent =
  | { readonly type: 'start'; readonly at: number }
  | { readonly type: 'input'; readonly at: number }
  | { readonly type: 'wake'; readonly at: number }
  | { readonly type: 'stop'; readonly at: number };

export type WatchdogEffect =
  | { readonly type: 'send-pulse' }
  /** `lateMs`: how far after the deadline this step runs (the firing error). */
  | { readonly type: 'fire'; readonly silentMs: number; readonly lateMs: number }
  | { readonly type: 'recovered'; readonly outageMs: number }
  | { readonly type: 'schedule'; readonly at: number }
  | { readonly type: 'cancel' };

export type WatchdogStep = readonly [WatchdogState, readonly WatchdogEffect[]];

/** Applies one event. Never throws; events that make no sense in a state leave it unchanged. */
export function stepWatchdog(p: WatchdogPolicy, s: WatchdogState, e: WatchdogEvent): WatchdogStep {
  if (s.kind === 'stopped') return [s, []];
  if (e.type === 'stop') return [{ kind: 'stopped' }, [{ type: 'cancel' }]];
  switch (s.kind) {
    case 'idle':
      if (e.type !== 'start') return [s, []];
      // The first pulse goes out one interval after start, as the patch's timer does.
      return withSchedule(
        p.armAtStart
          ? { kind: 'armed', nextPulseAt: e.at + p.pulseIntervalMs, deadline: e.at + p.timeoutMs, lastInputAt: null }
          : { kind: 'waiting', nextPulseAt: e.at + p.pulseIntervalMs },
        [],
      );
    case 'waiting':
    case 'armed':
    case 'fired':
      if (e.type === 'start') return [s, []];
      return e.type === 'input' ? onInput(p, s, e.at) : onWake(p, s, e.at);
  }
}

function onInput(p: WatchdogPolicy, s: Running, at: number): WatchdogStep {
  const effects: WatchdogEffect[] = [];
  if (s.kind === 'fired') effects.push({ type: 'recovered', outageMs: at - s.firedAt });
  return withSchedule({ kind: 'armed', nextPulseAt: s.nextPulseAt, deadline: at + p.timeoutMs, lastInputAt: at }, effects);
}

function onWake(p: WatchdogPolicy, s: Running, at: number): WatchdogStep {
  const effects: WatchdogEffect[] = [];
  let nextPulseAt = s.nextPulseAt;
  if (at >= nextPulseAt) {
    effects.push({ type: 'send-pulse' });
    // A late wake-up sends one pulse, not a burst; the cadence stays on its grid.
    nextPulseAt += p.pulseIntervalMs * (Math.floor((at - nextPulseAt) / p.pulseIntervalMs) + 1);
  }
  if (s.kind === 'armed' && at >= s.deadline) {
    const since = s.lastInputAt ?? s.deadline - p.timeoutMs;
    effects.push({ type: 'fire', silentMs: at - since, lateMs: at - s.deadline });
    return withSchedule({ kind: 'fired', nextPulseAt, firedAt: at, lastInputAt: s.lastInputAt }, effects);
  }
  return withSchedule({ ...s, nextPulseAt }, effects);
}

type Running = Extract<WatchdogState, { kind: 'waiting' | 'armed' | 'fired' }>;

function withSchedule(next: Running, effects: WatchdogEffect[]): WatchdogStep {
  const at = next.kind === 'armed' ? Math.min(next.nextPulseAt, next.deadline) : next.nextPulseAt;
  return [next, [...effects, { type: 'schedule', at }]];
}
