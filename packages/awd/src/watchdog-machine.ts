/**
 * The watchdog's timer rules as a pure reducer (STYLE.md R4): time comes in with each event, effects
 * go out as data. One wake-up time is computed per step (the earlier of the next pulse and the
 * deadline), so the driver needs exactly one timer, armed for the exact instant (awd spec §2.2, §2.3).
 *
 * Deciding to fire (issue 13): silence is measured up to the time input was last *available*, not last
 * *read*. A timer can run late (awd was stopped, its event loop blocked) while the peer's input sat in
 * the socket; so a wake past the deadline does not fire at once: it asks the driver to let pending
 * input in (`drain`) and decides on `drained`. Input that arrives meanwhile re-arms, as any input does.
 * A wake later than `stallThresholdMs` after its planned time is reported (`stalled`) and gets one more
 * drain before the decision; a firing after such a stall says so (`stallMs`).
 */

export interface WatchdogPolicy {
  /** Period of the pulses sent on awd_node. */
  readonly pulseIntervalMs: number;
  /** Silence after the last input that fires the watchdog. */
  readonly timeoutMs: number;
  /** Arm the deadline at start (the patch arms only at the first complete frame). */
  readonly armAtStart: boolean;
  /** A wake this much later than planned means awd itself was stalled (stopped, loop blocked). */
  readonly stallThresholdMs: number;
}

export type WatchdogState =
  | { readonly kind: 'idle' }
  /** Started, no input yet: pulses run, nothing can fire (patch behaviour, awd spec §2.3). */
  | { readonly kind: 'waiting'; readonly nextPulseAt: number }
  | { readonly kind: 'armed'; readonly nextPulseAt: number; readonly deadline: number; readonly lastInputAt: number | null }
  /**
   * The deadline passed at a wake; pending input is being let in before deciding. `stallMs` is how
   * late that wake was when awd itself stalled (0 otherwise); `drains` counts the drains asked for.
   */
  | {
      readonly kind: 'expiring';
      readonly nextPulseAt: number;
      readonly deadline: number;
      readonly lastInputAt: number | null;
      readonly stallMs: number;
      readonly drains: number;
    }
  /** Fired for this outage; stays here (no second action) until the next input. */
  | { readonly kind: 'fired'; readonly nextPulseAt: number; readonly firedAt: number; readonly lastInputAt: number | null }
  | { readonly kind: 'stopped' };

export type WatchdogEvent =
  | { readonly type: 'start'; readonly at: number }
  | { readonly type: 'input'; readonly at: number }
  | { readonly type: 'wake'; readonly at: number }
  /** The driver let pending input in (after a `drain` effect). */
  | { readonly type: 'drained'; readonly at: number }
  | { readonly type: 'stop'; readonly at: number };

export type WatchdogEffect =
  | { readonly type: 'send-pulse' }
  /**
   * `lateMs`: how far after the deadline the decision ran (the firing error); `stallMs`: > 0 when
   * the wake that found the deadline passed came that late because awd itself stalled.
   */
  | { readonly type: 'fire'; readonly silentMs: number; readonly lateMs: number; readonly stallMs: number }
  | { readonly type: 'recovered'; readonly outageMs: number }
  /** The timer ran `lateMs` after its planned time (≥ stallThresholdMs): awd was stopped or blocked. */
  | { readonly type: 'stalled'; readonly lateMs: number }
  /** Input that was waiting when the deadline passed arrived before the decision: no firing. */
  | { readonly type: 'spared'; readonly pastDeadlineMs: number }
  /** Let pending input be read (one turn of the event loop's I/O), then send `drained`. */
  | { readonly type: 'drain' }
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
    case 'expiring':
      if (e.type === 'input') return onInput(p, s, e.at);
      return e.type === 'drained' ? onDrained(p, s, e.at) : [s, []];
    case 'waiting':
    case 'armed':
    case 'fired':
      if (e.type === 'input') return onInput(p, s, e.at);
      return e.type === 'wake' ? onWake(p, s, e.at) : [s, []];
  }
}

function onInput(p: WatchdogPolicy, s: Running | Expiring, at: number): WatchdogStep {
  const effects: WatchdogEffect[] = [];
  if (s.kind === 'fired') effects.push({ type: 'recovered', outageMs: at - s.firedAt });
  if (s.kind === 'expiring') effects.push({ type: 'spared', pastDeadlineMs: at - s.deadline });
  return withSchedule({ kind: 'armed', nextPulseAt: s.nextPulseAt, deadline: at + p.timeoutMs, lastInputAt: at }, effects);
}

function onWake(p: WatchdogPolicy, s: Running, at: number): WatchdogStep {
  const effects: WatchdogEffect[] = [];
  // Planned wake of this state; the driver's timer is never later, so this underestimates a stall.
  const lateMs = at - wakeAt(s);
  const stalled = lateMs >= p.stallThresholdMs;
  if (stalled) effects.push({ type: 'stalled', lateMs });
  let nextPulseAt = s.nextPulseAt;
  if (at >= nextPulseAt) {
    effects.push({ type: 'send-pulse' });
    // A late wake-up sends one pulse, not a burst; the cadence stays on its grid.
    nextPulseAt += p.pulseIntervalMs * (Math.floor((at - nextPulseAt) / p.pulseIntervalMs) + 1);
  }
  if (s.kind === 'armed' && at >= s.deadline) {
    // Not yet: input may be waiting unread in the socket (issue 13). Decide after it had its chance.
    const next: Expiring = { kind: 'expiring', nextPulseAt, deadline: s.deadline, lastInputAt: s.lastInputAt, stallMs: stalled ? lateMs : 0, drains: 1 };
    return [next, [...effects, { type: 'drain' }]];
  }
  return withSchedule({ ...s, nextPulseAt }, effects);
}

function onDrained(p: WatchdogPolicy, s: Expiring, at: number): WatchdogStep {
  // After a stall of awd itself, pending input gets one more chance before the decision.
  if (s.stallMs > 0 && s.drains < 2) return [{ ...s, drains: s.drains + 1 }, [{ type: 'drain' }]];
  const since = s.lastInputAt ?? s.deadline - p.timeoutMs;
  const fire: WatchdogEffect = { type: 'fire', silentMs: at - since, lateMs: at - s.deadline, stallMs: s.stallMs };
  return withSchedule({ kind: 'fired', nextPulseAt: s.nextPulseAt, firedAt: at, lastInputAt: s.lastInputAt }, [fire]);
}

type Running = Extract<WatchdogState, { kind: 'waiting' | 'armed' | 'fired' }>;
type Expiring = Extract<WatchdogState, { kind: 'expiring' }>;

/** The instant a running state wants its next wake: the next pulse, or the deadline if earlier. */
function wakeAt(s: Running): number {
  return s.kind === 'armed' ? Math.min(s.nextPulseAt, s.deadline) : s.nextPulseAt;
}

function withSchedule(next: Running, effects: WatchdogEffect[]): WatchdogStep {
  return [next, [...effects, { type: 'schedule', at: wakeAt(next) }]];
}
