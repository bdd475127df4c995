/**
 * The driver of one client (STYLE.md R5): owns the model, the timers and the running scripts, feeds
 * channel bytes through the reader into the reducer, and performs the effects. Used by the CLI over a
 * device or socket and by every simulated guest.
 */
import type { Logger } from 'pino';
import type { Clock, CorrectiveAction, Health, TimerHandle, WireMessage } from '@guesthb/protocol';
import {
  initialClientModel, stepClient,
  type ClientEffect, type ClientEvent, type ClientModel, type ClientPolicy, type ClientStateKind, type HealthOverride, type TimerName,
} from './client-machine.js';
import type { PartyResult } from './client-rules.js';
import { HostMessageReader, type HostMessage } from './host-message-reader.js';
import type { EventType, NotificationType } from '@guesthb/protocol';

/** Where outgoing messages go (the driver encodes nothing itself). */
export interface ClientChannelPort {
  send(message: WireMessage): void;
}

/** A cancellable piece of work that may produce a result. */
export interface PortRun<T> {
  readonly outcome: Promise<T | undefined>;
  cancel(): void;
}

/** Runs the health check; `undefined` = no verdict (not run), which leaves the health unchanged. */
export interface HealthCheckPort {
  start(): PortRun<{ readonly health: Health; readonly log: string }>;
}

/** Answers an action_notify (the event script, or a simulated voter). `undefined` = never answers. */
export interface EventHandlerPort {
  start(notificationType: NotificationType, eventType: EventType): PortRun<{ readonly result: PartyResult; readonly log: string }>;
}

/** One registered application's health as the apps port reports it. */
export interface AppHealthView {
  readonly name: string;
  readonly health: Health;
  readonly action: CorrectiveAction;
  readonly log: string;
}

/** The registered applications right now. */
export interface AppsView {
  readonly voters: number;
  readonly health: readonly AppHealthView[];
}

/** A vote sent to the registered applications. */
export interface AppVoteRun {
  /** How many applications were notified (each answers `onResult` once). */
  readonly notified: number;
  cancel(): void;
}

/**
 * The in-guest applications of the management API (client §8): their health for every challenge and
 * their votes for every action. `onResult` is called once per notified app, never synchronously.
 */
export interface AppsPort {
  view(): AppsView;
  startVote(eventType: EventType, notificationType: NotificationType, onResult: (result: PartyResult, log: string) => void): AppVoteRun;
}

export interface ClientSessionDeps {
  readonly policy: ClientPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly channel: ClientChannelPort;
  readonly healthCheck?: HealthCheckPort;
  readonly eventHandler?: EventHandlerPort;
  /** Registered applications (the management API server); none when absent. */
  readonly apps?: AppsPort;
  /** Fields added to every log line of this session (e.g. the instance uuid). */
  readonly logFields?: Record<string, unknown>;
  readonly onStateChange?: (from: ClientStateKind, to: ClientStateKind, event: string) => void;
  /** Sees every host message before the machine does (counters of the simulator). */
  readonly onHostMessage?: (message: HostMessage) => void;
}

export class ClientSession {
  readonly #deps: ClientSessionDeps;
  readonly #reader = new HostMessageReader();
  readonly #timers: Partial<Record<TimerName, TimerHandle>> = {};
  #model: ClientModel = initialClientModel();
  #healthRun: PortRun<unknown> | undefined;
  #eventRun: PortRun<unknown> | undefined;
  #appVote: AppVoteRun | undefined;
  #closed = false;

  constructor(deps: ClientSessionDeps) {
    this.#deps = deps;
  }

  /** The current state kind. */
  get state(): ClientStateKind {
    return this.#model.state.kind;
  }

  /** The whole model (read-only), for tests and status displays. */
  get model(): ClientModel {
    return this.#model;
  }

  /** Starts the machine: `initial`, then `release` after 1 s (client §6). */
  start(): void {
    this.#dispatch({ type: 'start' });
  }

  /** The host end connected (virtio-serial SIGIO, or a socket connect). */
  channelUp(): void {
    this.#dispatch({ type: 'channel-up' });
  }

  /** The host end went away (POLLHUP, EOF): `disabled` until the next channelUp. */
  channelDown(): void {
    this.#reader.reset();
    this.#dispatch({ type: 'channel-down' });
  }

  /** Bytes from the channel. */
  receive(chunk: Uint8Array): void {
    for (const result of this.#reader.push(chunk)) {
      if (result.ok) {
        this.#deps.onHostMessage?.(result.message);
        const apps = this.#deps.apps?.view();
        this.#dispatch(apps === undefined ? { type: 'message', message: result.message } : { type: 'message', message: result.message, apps });
      }
      else this.#deps.log.debug({ ...this.#deps.logFields, reason: result.reason }, 'host message dropped');
    }
  }

  /** Forces a health verdict (simulator), or clears it with `undefined`. */
  setHealthOverride(override: HealthOverride | undefined): void {
    this.#dispatch({ type: 'health-override', override });
  }

  /** Graceful stop (SIGTERM): `exit` goes out if enabled, then everything stops (client §12). */
  shutdown(): void {
    this.#dispatch({ type: 'shutdown' });
    this.close();
  }

  /** Stops timers and scripts without sending anything; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of Object.keys(this.#timers) as TimerName[]) this.#clearTimer(name);
    this.#healthRun?.cancel();
    this.#eventRun?.cancel();
    this.#healthRun = undefined;
    this.#eventRun = undefined;
    this.#stopAppVotes();
  }

  #dispatch(event: DistributiveOmit<ClientEvent, 'at'>): void {
    if (this.#closed) return;
    const [next, effects] = stepClient(this.#deps.policy, this.#model, { ...event, at: this.#deps.clock.now() } as ClientEvent);
    this.#model = next;
    for (const effect of effects) this.#perform(effect);
  }

  #perform(effect: ClientEffect): void {
    const { log, logFields } = this.#deps;
    switch (effect.type) {
      case 'send':
        this.#deps.channel.send(effect.message);
        return;
      case 'set-timer':
        this.#clearTimer(effect.timer);
        {
          const dueAt = this.#deps.clock.now() + effect.delayMs;
          this.#timers[effect.timer] = this.#deps.clock.setTimeout(() => {
            delete this.#timers[effect.timer];
            this.#dispatch({ type: 'timer', timer: effect.timer, lateMs: this.#deps.clock.now() - dueAt });
          }, effect.delayMs);
        }
        return;
      case 'clear-timer':
        this.#clearTimer(effect.timer);
        return;
      case 'run-health-check':
        this.#startHealthCheck();
        return;
      case 'stop-health-check':
        this.#healthRun?.cancel();
        this.#healthRun = undefined;
        return;
      case 'run-event-handler':
        this.#startEventHandler(effect.invocationId, effect.notificationType, effect.eventType);
        return;
      case 'stop-event-handler':
        this.#eventRun?.cancel();
        this.#eventRun = undefined;
        return;
      case 'notify-apps':
        this.#startAppVote(effect.invocationId, effect.notificationType, effect.eventType);
        return;
      case 'stop-app-votes':
        this.#stopAppVotes();
        return;
      case 'state-changed':
        log.info({ ...logFields, from: effect.from, to: effect.to, event: effect.event }, 'heartbeat state change');
        this.#deps.onStateChange?.(effect.from, effect.to, effect.event);
        return;
      case 'log':
        log[effect.level]({ ...logFields, ...effect.fields }, effect.msg);
        return;
    }
  }

  #startHealthCheck(): void {
    const port = this.#deps.healthCheck;
    if (port === undefined) return;
    this.#healthRun?.cancel();                                   // a copy still running is killed first (client §9)
    const run = port.start();
    this.#healthRun = run;
    run.outcome.then((verdict) => {
      if (this.#healthRun !== run) return;
      this.#healthRun = undefined;
      if (verdict !== undefined) this.#dispatch({ type: 'health-result', health: verdict.health, log: verdict.log });
    }, (err: unknown) => this.#deps.log.error({ ...this.#deps.logFields, err }, 'health check failed'));
  }

  #startEventHandler(invocationId: number, notificationType: NotificationType, eventType: EventType): void {
    const port = this.#deps.eventHandler;
    if (port === undefined) return;
    this.#eventRun?.cancel();
    const run = port.start(notificationType, eventType);
    this.#eventRun = run;
    run.outcome.then((answer) => {
      if (this.#eventRun !== run) return;
      this.#eventRun = undefined;
      if (answer !== undefined) this.#dispatch({ type: 'vote-result', invocationId, result: answer.result, log: answer.log });
    }, (err: unknown) => this.#deps.log.error({ ...this.#deps.logFields, err }, 'event handler failed'));
  }

  #startAppVote(invocationId: number, notificationType: NotificationType, eventType: EventType): void {
    const port = this.#deps.apps;
    if (port === undefined) return;
    this.#stopAppVotes();
    const run = port.startVote(eventType, notificationType, (result, log) => {
      if (this.#appVote !== run) return;                                 // aborted: its answers count no more
      this.#dispatch({ type: 'vote-result', invocationId, result, log });
    });
    this.#appVote = run;
  }

  #stopAppVotes(): void {
    this.#appVote?.cancel();
    this.#appVote = undefined;
  }

  #clearTimer(name: TimerName): void {
    const handle = this.#timers[name];
    if (handle !== undefined) this.#deps.clock.clearTimeout(handle);
    delete this.#timers[name];
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
