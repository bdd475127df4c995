/**
 * The driver of one instance (STYLE.md R5): owns its channel socket, its decoder and its one timer,
 * feeds events to the pure reducer and performs the effects. All state for the instance lives here.
 */
import {
  ChallengeResponseFields, FRAME, GUEST_TO_HOST_TYPES, LineFramer, encodeChallenge, encodeMessage, parseMessage,
  DeadlineTimers, readChallengeResponseBytes, type Clock, type DeadlineTimer, type EventType, type TimerHandle,
} from '@guesthb/protocol';
import type { ChannelConnector, ChannelHandlers, ChannelSocket } from './channel-connector.js';
import { DEFAULT_GUEST_BUDGET, GuestBudget, type BudgetDropKind, type GuestBudgetLimits } from './guest-budget.js';
import {
  nextDeadline, stepChallengeResponse, stepInto, stepTick, type HeartbeatPolicy, type InstanceEvent,
} from './heartbeat-machine.js';
import type { RestoredKnowledge } from './init-deadline.js';
import type { InstanceLogger } from './instance-log.js';
import { hbStateName, initialInstanceState, type CountName, type InstanceEffect, type InstanceState, type Report } from './instance-state.js';
import { noticeTimeoutMs } from './vote-rules.js';
import { clearEffects, enterEffects, leaveEffects } from './effect-arrays.js';

/** Metric sinks a session feeds; implemented by ServerMetrics. */
export interface SessionMetrics {
  count(name: CountName): void;
  observeLatencyMs(ms: number): void;
  observeLatenessMs(ms: number): void;
  /** Something from a guest over its budget: a dropped message or init, or a read pause. */
  budgetDrop?(kind: BudgetDropKind, n?: number): void;
  /** Log lines of an instance held back by its log rate limit. */
  logSuppressed?(): void;
}

export interface InstanceSessionDeps {
  readonly uuid: string;
  readonly clock: Clock;
  /** A pino logger, or an InstanceLog that makes the instance's child logger on its first line (issue 17). */
  readonly log: InstanceLogger;
  /** Read at every step so SIGHUP and PUT /v1/host take effect at once. */
  readonly policy: () => HeartbeatPolicy;
  readonly connect: ChannelConnector;
  readonly metrics: SessionMetrics;
  readonly onReport: (session: InstanceSession, report: Report) => void;
  /** Called after a connect found no file (ENOENT): the server may forget an unprovisioned record. */
  readonly onGone: (session: InstanceSession) => void;
  /** Per-guest budgets (DEFAULT_GUEST_BUDGET when absent). */
  readonly budget?: GuestBudgetLimits;
  /** After the events of one dispatch changed the state (`before` = the state before them): persistence. */
  readonly onStep?: (session: InstanceSession, before: InstanceState) => void;
  /** A guest message carried a non-empty log_msg (corroboration's forensics ring, issue 16 item 5). */
  readonly onGuestLogMsg?: ((logMsg: string) => void) | undefined;
  /** The deadlines of every session of a server behind one clock timer (issue 17); a session's own when absent. */
  readonly timers?: DeadlineTimers;
}

/** Result of a vote/notify request: whether the notice went out, and its timeout_ms. */
export interface ActionOutcome {
  readonly sent: boolean;
  readonly timeoutMs: number;
}

export class InstanceSession {
  readonly uuid: string;
  readonly #deps: InstanceSessionDeps;
  #state: InstanceState;
  #channelPath: string | undefined;
  /** True when the agent provisioned the instance (PUT); such a record outlives its channel file. */
  #provisioned = false;
  #socket: ChannelSocket | undefined;
  /** Bumped on every new socket or close, so callbacks of an old socket are ignored. */
  #generation = 0;
  readonly #framer = new LineFramer();
  readonly #budget: GuestBudget;
  /** Reading is paused (over budget) until this timer fires. */
  #pauseTimer: TimerHandle | undefined;
  /** The timer's callback, made once: a closure per arming was garbage on every heartbeat (issue 17). */
  readonly #onTimer = (): void => this.#fire();
  /** The session's one timer for its life, re-armed in place (a Node Timeout per arming was garbage; issue 17). */
  readonly #timer: DeadlineTimer;
  #queue: InstanceEvent[] = [];
  /** Inside #onChunk; reads that arrive meanwhile wait in #laterReads. */
  #reading = false;
  #laterReads: Buffer[] | undefined;
  #dispatching = false;
  #closed = false;

  constructor(deps: InstanceSessionDeps) {
    this.uuid = deps.uuid;
    this.#deps = deps;
    this.#state = initialInstanceState(deps.clock.now());
    this.#budget = new GuestBudget(deps.budget ?? DEFAULT_GUEST_BUDGET);
    this.#timer = (deps.timers ?? new DeadlineTimers(deps.clock)).create(this.#onTimer);
  }

  get state(): InstanceState {
    return this.#state;
  }

  get channelPath(): string | undefined {
    return this.#channelPath;
  }

  get provisioned(): boolean {
    return this.#provisioned;
  }

  /** A channel file for this uuid was found (start-up, watcher, rescan) or re-created. */
  channelFound(path: string): void {
    this.#channelPath = path;
    this.#dispatch({ type: 'channel-found', at: this.#deps.clock.now() });
  }

  /** The channel file went away; ignored when it is not the file this session uses. */
  channelRemoved(path: string): void {
    if (path !== this.#channelPath) return;
    this.#channelPath = undefined;
    this.#dispatch({ type: 'channel-removed', at: this.#deps.clock.now() });
  }

  /** Knowledge persisted by an earlier process (issue 12): before any channel is found. */
  restore(knowledge: RestoredKnowledge, provisioned: boolean): void {
    this.#provisioned = provisioned;
    this.#dispatch({ type: 'restored', at: this.#deps.clock.now(), knowledge });
  }

  /** The start-up scan found no channel file for a restored record: the VM is gone, stop waiting for it. */
  channelMissing(): void {
    if (this.#channelPath === undefined) this.#dispatch({ type: 'channel-removed', at: this.#deps.clock.now() });
  }

  /** Agent ADD/MOD_INST: provisioned from now on, with this reporting state. */
  provision(reporting: boolean): void {
    this.#provisioned = true;
    this.#dispatch({ type: 'set-reporting', at: this.#deps.clock.now(), reporting });
  }

  /**
   * Agent VOTE/NOTIFY: sends action_notify if the guest can receive it, holds it for a guest that is away or
   * not yet re-initialised (README "Departure and return"); else an `error` result is reported.
   */
  requestAction(event: EventType, notificationType: 'revocable' | 'irrevocable'): ActionOutcome {
    const timeoutMs = noticeTimeoutMs(this.#state.params, event, notificationType);
    this.#dispatch({ type: 'action', at: this.#deps.clock.now(), event, notificationType });
    const v = this.#state.vote;
    const sent = v.kind === 'pending' && v.event === event && v.notificationType === notificationType;
    return { sent, timeoutMs: sent ? timeoutMs : 0 };
  }

  /** Stops everything: socket, timer. Idempotent; no reports. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeSocket();
    this.#disarm();
    this.#queue = [];
    const suppressed = this.#budget.flushLog();
    if (suppressed > 0) this.#deps.log.warn({ suppressed }, 'log lines suppressed by the per-instance rate limit');
  }

  toJSON(): Record<string, unknown> {
    return { uuid: this.uuid, channel: this.#channelPath, state: hbStateName(this.#state), link: this.#state.link.kind, armedAt: this.#timer.armed ? this.#timer.at : undefined };
  }

  #dispatch(event: InstanceEvent): void {
    if (this.#closed) return;
    const queue = this.#queue;
    // Effects may raise events: they run after the current one. (Left queued by a throw: they go first.)
    if (this.#dispatching || queue.length > 0) queue.push(event);
    if (this.#dispatching) return;
    const fx = this.#enter();
    const before = this.#state;
    try {
      const e = queue.length > 0 ? queue.shift() as InstanceEvent : event;
      this.#stepped(stepInto(this.#deps.policy(), before, e, fx), e.type, fx);
    } finally {
      leaveEffects(fx);
      this.#dispatching = false;
    }
    this.#left(before);
  }

  /**
   * #dispatch of a tick (the timer of every heartbeat's challenge; `m` undefined) or of a challenge_response
   * read from its bytes (`m`), without an event or message object (issue 17).
   */
  #hot(at: number, m: ChallengeResponseFields | undefined): void {
    if (this.#dispatching || this.#queue.length > 0) {
      // Queued behind other events: a message of its own, since `m` is overwritten by the next read.
      this.#dispatch(m === undefined ? { type: 'tick', at } : { type: 'message', at, message: m.toMessage() });
      return;
    }
    if (this.#closed) return;
    const fx = this.#enter();
    const before = this.#state;
    try {
      const p = this.#deps.policy();
      if (m === undefined) this.#stepped(stepTick(p, before, at, fx), 'tick', fx);
      else this.#stepped(stepChallengeResponse(p, before, at, m, fx), 'message', fx);
    } finally {
      leaveEffects(fx);
      this.#dispatching = false;
    }
    this.#left(before);
  }

  #enter(): InstanceEffect[] {
    this.#dispatching = true;
    return enterEffects();
  }

  /**
   * Takes a step's new state and performs its effects (then clears them from `fx`), then steps the events
   * they raised, in order.
   */
  #stepped(next: InstanceState, eventType: InstanceEvent['type'], fx: InstanceEffect[]): void {
    let state = next;
    let type = eventType;
    for (;;) {
      const prevName = hbStateName(this.#state);
      this.#state = state;
      const name = hbStateName(state);
      if (name !== prevName) this.#deps.log.debug({ from: prevName, to: name, event: type }, 'state');
      for (let i = 0; i < fx.length; i++) this.#perform(fx[i] as InstanceEffect);
      clearEffects(fx);
      if (this.#closed) return;
      // Events raised by the effects (rare): a push and shift per event only then (issue 17).
      const e = this.#queue.length > 0 ? this.#queue.shift() : undefined;
      if (e === undefined) return;
      type = e.type;
      state = stepInto(this.#deps.policy(), this.#state, e, fx);
    }
  }

  #left(before: InstanceState): void {
    if (this.#closed) return;
    if (this.#state !== before) this.#deps.onStep?.(this, before);
    this.#rearm();
  }

  #perform(effect: InstanceEffect): void {
    switch (effect.type) {
      case 'send':
        this.#send(effect.body);
        return;
      case 'challenge':
        this.#deps.metrics.count('challenge');
        this.#deps.metrics.observeLatenessMs(effect.latenessMs);
        this.#write(encodeChallenge(effect.sequence, effect.challenge), 'challenge');
        return;
      case 'connect':
        this.#connect();
        return;
      case 'close-socket':
        this.#closeSocket();
        return;
      case 'report':
        this.#deps.onReport(this, effect.report);
        return;
      case 'count':
        this.#deps.metrics.count(effect.name);
        return;
      case 'response-latency':
        this.#deps.metrics.observeLatencyMs(effect.ms);
        return;
      case 'log':
        this.#writeLog(effect.level, effect.msg, effect.fields);
        return;
    }
  }

  #send(body: Parameters<typeof encodeMessage>[0]): void {
    if (this.#socket === undefined) return;
    let frame: Buffer;
    try {
      frame = encodeMessage(body);
    } catch (err) {
      this.#deps.log.warn({ err, msgType: body.msg_type }, 'message not sent');
      return;
    }
    this.#write(frame, body.msg_type);
  }

  #write(frame: Buffer, msgType: string): void {
    if (this.#socket === undefined) return;
    try {
      const written = this.#socket.write(frame);
      if (!written) this.#deps.log.debug({ msgType }, 'guest not reading: message dropped');
    } catch (err) {
      this.#deps.log.warn({ err, msgType }, 'message not sent');
    }
  }

  #connect(): void {
    this.#closeSocket();
    const path = this.#channelPath;
    const at = this.#deps.clock.now();
    if (path === undefined) {
      this.#queue.push({ type: 'channel-removed', at });
      return;
    }
    this.#socket = this.#deps.connect(path, new InstanceSession.#Link(this, ++this.#generation));
  }

  /**
   * One connection's handlers: one small object per connect, not three closures and their context (issue
   * 17 item 4). Callbacks of an old connection (its generation passed) are ignored.
   */
  static readonly #Link = class Link implements ChannelHandlers {
    readonly #session: InstanceSession;
    readonly #gen: number;
    #opened = false;

    constructor(session: InstanceSession, generation: number) {
      this.#session = session;
      this.#gen = generation;
    }

    onConnect(): void {
      const s = this.#session;
      if (this.#gen !== s.#generation) return;
      this.#opened = true;
      s.#dispatch({ type: 'connected', at: s.#deps.clock.now() });
    }

    onData(chunk: Buffer): void {
      const s = this.#session;
      if (this.#gen !== s.#generation) return;
      s.#onChunk(chunk, this.#gen);
    }

    onClose(errorCode: string | undefined): void {
      const s = this.#session;
      if (this.#gen !== s.#generation) return;
      s.#socket = undefined;
      s.#generation++;
      const now = s.#deps.clock.now();
      if (errorCode === 'ENOENT') {
        // ENOENT: the channel is gone (daemons §1.3).
        s.#channelPath = undefined;
        s.#dispatch({ type: 'channel-removed', at: now });
        s.#deps.onGone(s);
      } else if (!this.#opened) {
        s.#dispatch({ type: 'connect-failed', at: now, error: errorCode ?? 'closed' });
      } else {
        s.#dispatch({ type: 'disconnected', at: now, cause: errorCode ?? 'EOF' });
      }
    }
  };

  /**
   * One read from the guest, within its budgets (issue 11 item 4): the read is charged to the byte and read
   * rates (over them, reading pauses until they refill); each line to the message rate (over it, the rest of
   * the read is dropped undecoded and reading pauses); each init to the re-initialisation rate.
   */
  #onChunk(chunk: Buffer, generation: number): void {
    // The framer walks the chunk line by line while the lines are dispatched: a read arriving meanwhile (a
    // channel that delivers from inside a write) is copied and read after it, in order.
    if (this.#reading) {
      (this.#laterReads ??= []).push(Buffer.from(chunk));
      return;
    }
    this.#reading = true;
    try {
      this.#read(chunk, generation);
      for (let next = this.#laterReads?.shift(); next !== undefined; next = this.#laterReads?.shift()) {
        if (generation !== this.#generation || this.#closed) break;
        this.#read(next, generation);
      }
    } finally {
      this.#reading = false;
      this.#laterReads = undefined;
    }
  }

  #read(chunk: Buffer, generation: number): void {
    const now = this.#deps.clock.now();
    const budget = this.#budget;
    const read = budget.chargeRead(now, chunk.length);
    if (read.kind !== undefined) {
      this.#deps.metrics.budgetDrop?.(read.kind);
      this.#pauseReading(read.pauseMs);
    }
    // Frame no more than the message budget allows: a read of 64 kB of one-byte lines would otherwise cost
    // a string per line before any of them could be dropped. A message is `\n{…}\n`: two newlines per line.
    const cut = cutAfterNewlines(chunk, 2 * Math.floor(budget.messagesAvailable(now)) + 2);
    const framer = this.#framer;
    framer.begin(cut < 0 ? chunk : chunk.subarray(0, cut));
    if (cut >= 0) {
      this.#deps.metrics.budgetDrop?.('messages');
      this.#pauseReading(budget.messagePauseMs(now));
    }
    // Line by line from the chunk (no array, line object or string per line; issue 17): a challenge_response
    // in its plain form is read from its bytes, anything else is decoded and parsed as before.
    for (let kind = framer.next(); kind !== FRAME.done; kind = framer.next()) {
      if (!budget.takeMessage(now)) {
        // The lines of this read not yet taken: what the message budget drops.
        let dropped = 1;
        while (framer.next() !== FRAME.done) dropped++;
        this.#deps.metrics.budgetDrop?.('messages', dropped);
        framer.reset();
        this.#pauseReading(budget.messagePauseMs(now));
        return;
      }
      const at = this.#deps.clock.now();
      if (kind === FRAME.bytes && readChallengeResponseBytes(framer.lineBytes, framer.lineStart, framer.lineEnd, RESPONSE)) {
        if (RESPONSE.log_msg.length > 0) this.#deps.onGuestLogMsg?.(RESPONSE.log_msg);
        this.#hot(at, RESPONSE);
      } else {
        const result = kind === FRAME.tooLong
          ? { ok: false as const, reason: `line of ${framer.droppedBytes} bytes discarded`, nack: undefined }
          : parseMessage(framer.lineText(), GUEST_TO_HOST_TYPES);
        if (result.ok && result.message.msg_type === 'init' && !budget.takeInit(now)) {
          this.#deps.metrics.budgetDrop?.('reinit');
          continue;
        }
        if (result.ok && this.#deps.onGuestLogMsg !== undefined) {
          const logMsg = (result.message as { readonly log_msg?: unknown }).log_msg;
          if (typeof logMsg === 'string' && logMsg.length > 0) this.#deps.onGuestLogMsg(logMsg);
        }
        this.#dispatch(result.ok
          ? { type: 'message', at, message: result.message }
          : { type: 'bad-message', at, reason: result.reason, nack: result.nack });
      }
      if (generation !== this.#generation || this.#closed) return;
    }
    if (cut >= 0) framer.reset();
  }

  /** Stops reading from the guest for `ms` (the kernel holds what it sends meanwhile). */
  #pauseReading(ms: number): void {
    const socket = this.#socket;
    if (socket?.pause === undefined || this.#pauseTimer !== undefined) return;
    socket.pause();
    this.#pauseTimer = this.#deps.clock.setTimeout(() => {
      this.#pauseTimer = undefined;
      if (this.#socket === socket) socket.resume?.();
    }, ms);
  }

  /** Info and warn lines go through the instance's log rate limit; debug lines are not limited. */
  #writeLog(level: 'debug' | 'info' | 'warn', msg: string, fields: Readonly<Record<string, unknown>> | undefined): void {
    const log = this.#deps.log;
    const now = this.#deps.clock.now();
    if (level === 'debug') {
      const due = this.#budget.takeLogSummary(now);
      if (due > 0) log.warn({ suppressed: due }, 'log lines suppressed by the per-instance rate limit');
      log.debug(fields ?? {}, msg);
      return;
    }
    const decision = this.#budget.log.check(now);
    if (decision.summarize > 0) log.warn({ suppressed: decision.summarize }, 'log lines suppressed by the per-instance rate limit');
    if (decision.write) log[level](fields ?? {}, msg);
    else this.#deps.metrics.logSuppressed?.();
  }

  #closeSocket(): void {
    this.#generation++;
    this.#framer.reset();
    if (this.#pauseTimer !== undefined) this.#deps.clock.clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
  }

  #rearm(): void {
    if (this.#closed) return;
    const deadline = nextDeadline(this.#deps.policy(), this.#state);
    const timer = this.#timer;
    if (deadline === undefined) timer.disarm();
    else if (!timer.armed || deadline !== timer.at) timer.arm(deadline);
  }

  #fire(): void {
    const deadline = this.#timer.at;
    // A timer may fire a fraction of a millisecond before the deadline by the monotonic clock.
    const now = this.#deps.clock.now();
    this.#hot(deadline - now < 2 ? Math.max(now, deadline) : now, undefined);
  }

  #disarm(): void {
    this.#timer.disarm();
  }
}

/** The preencoded challenge frame lives in @guesthb/protocol (challenge-frame.ts); re-exported for the tests. */
export { encodeChallenge };

/**
 * Where to cut `chunk` after its `max`-th newline: the length of what may be framed when a rest must be
 * dropped, or -1 when all of it may be framed (a number, not an object: this runs on every read).
 */
function cutAfterNewlines(chunk: Buffer, max: number): number {
  let pos = -1;
  for (let n = 0; n < max; n++) {
    pos = chunk.indexOf(NEWLINE, pos + 1);
    if (pos < 0) return -1;
  }
  // Whatever follows is dropped unframed and uncounted line by line: counting would cost what dropping saves.
  return pos + 1 >= chunk.length ? -1 : pos + 1;
}

const NEWLINE = 0x0a;

/**
 * The challenge_response being read, for every session: read and consumed before the next line is (a session
 * that must keep it past that copies it, #hot).
 */
const RESPONSE = new ChallengeResponseFields();
