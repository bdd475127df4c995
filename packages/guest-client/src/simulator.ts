/**
 * The guest simulator: a simulated guest plays QEMU's part of the heartbeat channel. It listens on
 * `DIR/cgcs.heartbeat.<uuid>.sock` (as QEMU does with `-chardev socket,server=on`), so guest-server
 * connects to it, and runs the real client machine behind it. Faults are injected at run time.
 * Cheap per guest: one listening socket, the session's timers, no logging at info.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { systemClock } from '@guesthb/daemon-kit';
import {
  MAX_MESSAGE_BYTES, channelFileName, encodeMessage,
  type Clock, type CorrectiveAction, type Health, type WireMessage,
} from '@guesthb/protocol';
import { DEFAULT_CLIENT_CONFIG, type ClientConfig } from './config.js';
import type { ClientStateKind } from './client-machine.js';
import { ClientSession, type EventHandlerPort, type PortRun } from './client-session.js';
import type { PartyResult } from './client-rules.js';
import { GuestClientError } from './errors.js';
import { GlibcRandom } from './glibc-rand.js';
import { eventScriptPort, healthScriptPort } from './script-ports.js';

/** How a simulated guest answers votes: a fixed answer, or never (the host's deadline then fires). */
export type SimulatedVote = 'accept' | 'reject' | 'timeout';

/** Faults that can be set from the start (all can also be changed at run time). */
export interface SimulatedFaults {
  /** Hung guest: nothing is read or written. */
  readonly stopAnswering?: boolean;
  /** Delay of every challenge_response, ms (0 = prompt). */
  readonly answerLateMs?: number;
  /** Echo a wrong value in every challenge_response. */
  readonly wrongChallenge?: boolean;
  /** Report unhealthy with this corrective action. */
  readonly unhealthy?: CorrectiveAction;
  /** Write every message in two parts. */
  readonly split?: boolean;
  /** Answer votes and notifications this way (otherwise: the configured event script, or "complete"). */
  readonly vote?: SimulatedVote;
}

export interface SimulatedGuestOptions {
  /** Channel directory, the one guest-server watches. */
  readonly dir: string;
  /** Instance uuid, 36 characters. */
  readonly uuid: string;
  /** Name sent in init; default `guest-<first 8 of uuid>`. */
  readonly name?: string;
  /** Client configuration over the compiled defaults (scripts included, if wanted). */
  readonly config?: Partial<ClientConfig>;
  readonly faults?: SimulatedFaults;
  readonly clock?: Clock;
  /** Default: silent. Per-guest lines are at info or below, so a logger at warn stays quiet. */
  readonly log?: Logger;
  /** Delay between the two halves of a split message, ms (default 20). */
  readonly splitDelayMs?: number;
  /** Called on state changes and connection changes (status displays, tests). */
  readonly onEvent?: (event: SimulatedGuestEvent) => void;
}

export type SimulatedGuestEvent =
  | { readonly type: 'state'; readonly uuid: string; readonly from: ClientStateKind; readonly to: ClientStateKind; readonly event: string }
  | { readonly type: 'connected' | 'disconnected'; readonly uuid: string };

/** Counters of one simulated guest. */
export interface SimulatedGuestStats {
  readonly uuid: string;
  readonly state: ClientStateKind;
  readonly connected: boolean;
  readonly challengesSeen: number;
  readonly responsesSent: number;
  /** Challenges that arrived while the guest was not answering. */
  readonly missed: number;
  /** Clock time (ms) of the last challenge_response written; undefined before the first. */
  readonly lastResponseAt: number | undefined;
  /** Time from the last answered challenge's arrival to its response being written, ms. */
  readonly lastChallengeToResponseMs: number | undefined;
  readonly initsSent: number;
  readonly actionsSeen: number;
  readonly connections: number;
}

interface FaultState { stopAnswering: boolean; answerLateMs: number; wrongChallenge: boolean; split: boolean; vote: SimulatedVote | undefined }

const SILENT = pino({ level: 'silent' });
const CHALLENGE_TOKEN = '"challenge"';

export class SimulatedGuest {
  readonly uuid: string;
  readonly path: string;
  readonly #opts: SimulatedGuestOptions;
  readonly #clock: Clock;
  readonly #config: ClientConfig;
  readonly #session: ClientSession;
  #faults: FaultState;
  #server: Server | undefined;
  #socket: Socket | undefined;
  #state: 'new' | 'started' | 'closed' = 'new';
  #stats = { challengesSeen: 0, responsesSent: 0, missed: 0, initsSent: 0, actionsSeen: 0, connections: 0 };
  #lastChallengeArrivedAt: number | undefined;
  #lastResponseAt: number | undefined;
  #lastLatencyMs: number | undefined;

  constructor(options: SimulatedGuestOptions) {
    this.#opts = options;
    this.uuid = options.uuid;
    this.path = join(options.dir, channelFileName(options.uuid));
    this.#clock = options.clock ?? systemClock;
    this.#config = { ...DEFAULT_CLIENT_CONFIG, ...options.config };
    const f = options.faults ?? {};
    this.#faults = {
      stopAnswering: f.stopAnswering ?? false, answerLateMs: f.answerLateMs ?? 0, wrongChallenge: f.wrongChallenge ?? false,
      split: f.split ?? false, vote: f.vote,
    };
    const log = options.log ?? SILENT;
    const random = new GlibcRandom();
    const config = this.#config;
    const faults = (): FaultState => this.#faults;
    const scriptVoter = config.eventNotificationScript === '' ? undefined : eventScriptPort(config.eventNotificationScript, this.#clock, log);
    this.#session = new ClientSession({
      policy: {
        name: options.name ?? `guest-${options.uuid.slice(0, 8)}`,
        config,
        hasHealthCheck: config.healthCheckScript !== '' && config.healthCheckIntervalSecs > 0,
        get hasEventHandler(): boolean { return faults().vote !== undefined || scriptVoter !== undefined; },
        nextInvocationId: () => random.next(),
      },
      clock: this.#clock,
      log,
      logFields: { uuid: options.uuid },
      channel: { send: (message) => this.#send(message) },
      ...(config.healthCheckScript === '' ? {} : { healthCheck: healthScriptPort(config.healthCheckScript, this.#clock, log, config.healthCheckIntervalSecs * 1000) }),
      eventHandler: this.#voter(scriptVoter),
      onStateChange: (from, to, event) => options.onEvent?.({ type: 'state', uuid: this.uuid, from, to, event }),
      onHostMessage: (message) => {
        if (message.msg_type === 'challenge') {
          this.#stats.challengesSeen++;
          this.#lastChallengeArrivedAt = this.#clock.now();
        } else if (message.msg_type === 'action_notify') {
          this.#stats.actionsSeen++;
        }
      },
    });
    if (f.unhealthy !== undefined) this.setHealth('unhealthy', f.unhealthy);
  }

  /** Creates the socket file and listens on it; the client machine starts `disabled` until a host connects. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new GuestClientError('GC_ERR_SIMULATOR_CLOSED', `simulated guest ${this.uuid} already started or closed`);
    this.#state = 'started';
    this.#session.start();
    // No host end yet: like a virtio port whose host side is closed (POLLHUP), so the first connection
    // is a channel-up and the init goes out at once (client §2, §6).
    this.#session.channelDown();
    await this.#listen();
  }

  /** Closes the connection and the socket file; idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#session.close();
    await this.#closeServer();
  }

  get state(): ClientStateKind {
    return this.#session.state;
  }

  get stats(): SimulatedGuestStats {
    return {
      uuid: this.uuid, state: this.#session.state, connected: this.#socket !== undefined, ...this.#stats,
      lastResponseAt: this.#lastResponseAt, lastChallengeToResponseMs: this.#lastLatencyMs,
    };
  }

  /** Hung guest: reads and writes nothing until resumeAnswering(). */
  stopAnswering(): void { this.#faults.stopAnswering = true; }
  resumeAnswering(): void { this.#faults.stopAnswering = false; }
  /** Every challenge_response goes out `ms` late (0 = prompt). */
  answerLate(ms: number): void { this.#faults.answerLateMs = Math.max(0, ms); }
  /** Echo a wrong challenge value (or stop doing so). */
  wrongChallenge(on = true): void { this.#faults.wrongChallenge = on; }
  /** Write every message in two parts (or stop doing so). */
  sendSplit(on = true): void { this.#faults.split = on; }
  /** Answer votes and notifications this way; undefined restores the default. */
  setVote(vote: SimulatedVote | undefined): void { this.#faults.vote = vote; }

  /** Report this health; 'healthy' clears the override, 'unhealthy' uses `action` (default reboot). */
  setHealth(health: Health, action: CorrectiveAction = 'reboot', logMsg = ''): void {
    this.#session.setHealthOverride(health === 'healthy' ? undefined : { health, action, log: logMsg || `simulated ${health}` });
  }

  /** Writes one line that is not JSON. */
  sendGarbage(): void {
    this.#write(Buffer.from('\n{this is not json\u0000\u00ff\n', 'latin1'));
  }

  /** Writes one line longer than the protocol's 1056-byte limit. */
  sendOversized(): void {
    const pad = 'x'.repeat(MAX_MESSAGE_BYTES + 200);
    this.#write(Buffer.from(`\n{"version":3,"revision":1,"msg_type":"exit","sequence":0,"log_msg":"${pad}"}\n`));
  }

  /** QEMU restart: drop the connection, remove and recreate the socket file. */
  async recreateSocket(): Promise<void> {
    if (this.#state !== 'started') throw new GuestClientError('GC_ERR_SIMULATOR_CLOSED', `simulated guest ${this.uuid} is not running`);
    await this.#closeServer();
    await this.#listen();
  }

  #voter(script: EventHandlerPort | undefined): EventHandlerPort {
    return {
      start: (notificationType, eventType): PortRun<{ readonly result: PartyResult; readonly log: string }> => {
        const vote = this.#faults.vote;
        if (vote === undefined && script !== undefined) return script.start(notificationType, eventType);
        if (vote === 'accept') return { outcome: Promise.resolve({ result: 'accept', log: '' }), cancel: () => undefined };
        if (vote === 'reject') {
          return { outcome: Promise.resolve({ result: 'reject', log: `simulated guest rejects ${eventType}` }), cancel: () => undefined };
        }
        return { outcome: Promise.resolve(undefined), cancel: () => undefined };   // timeout: never answers
      },
    };
  }

  #send(message: WireMessage): void {
    if (this.#socket === undefined || this.#faults.stopAnswering) return;
    let out = message;
    if (out.msg_type === 'init') this.#stats.initsSent++;
    if (out.msg_type === 'challenge_response') {
      if (this.#faults.wrongChallenge) out = { ...out, heartbeat_response: (out.heartbeat_response + 1) % 2 ** 31 };
      const late = this.#faults.answerLateMs;
      if (late > 0) {
        const socket = this.#socket;
        this.#clock.setTimeout(() => {
          if (this.#socket === socket && !this.#faults.stopAnswering) this.#writeResponse(encodeMessage(out));
        }, late);
        return;
      }
      this.#writeResponse(encodeMessage(out));
      return;
    }
    this.#write(encodeMessage(out));
  }

  #writeResponse(bytes: Buffer): void {
    const now = this.#clock.now();
    this.#stats.responsesSent++;
    this.#lastResponseAt = now;
    if (this.#lastChallengeArrivedAt !== undefined) this.#lastLatencyMs = now - this.#lastChallengeArrivedAt;
    this.#write(bytes);
  }

  #write(bytes: Buffer): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    if (!this.#faults.split || bytes.length < 2) {
      socket.write(bytes);
      return;
    }
    const half = Math.floor(bytes.length / 2);
    socket.write(bytes.subarray(0, half));
    this.#clock.setTimeout(() => {
      if (!socket.destroyed) socket.write(bytes.subarray(half));
    }, this.#opts.splitDelayMs ?? 20);
  }

  async #listen(): Promise<void> {
    await rm(this.path, { force: true });                                 // a stale file from a crash
    const server = createServer((socket) => this.#onConnection(socket));
    // QEMU serves one host connection at a time; extra connections are closed at once.
    server.maxConnections = 1;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => (this.#opts.log ?? SILENT).warn({ uuid: this.uuid, err }, 'simulated guest socket error'));
  }

  #onConnection(socket: Socket): void {
    if (this.#socket !== undefined || this.#state !== 'started') {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.#stats.connections++;
    socket.on('data', (chunk: Buffer) => {
      if (this.#faults.stopAnswering) {
        this.#stats.missed += countChallenges(chunk);
        return;
      }
      this.#session.receive(chunk);
    });
    socket.on('error', () => undefined);                                   // 'close' follows
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#session.channelDown();
      this.#opts.onEvent?.({ type: 'disconnected', uuid: this.uuid });
    });
    this.#opts.onEvent?.({ type: 'connected', uuid: this.uuid });
    this.#session.channelUp();
  }

  async #closeServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#socket?.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}

function countChallenges(chunk: Buffer): number {
  const text = chunk.toString('latin1');
  let count = 0;
  for (let at = text.indexOf(CHALLENGE_TOKEN); at !== -1; at = text.indexOf(CHALLENGE_TOKEN, at + 1)) count++;
  return count;
}

/** Creates a simulated guest (not started). */
export function createSimulatedGuest(options: SimulatedGuestOptions): SimulatedGuest {
  return new SimulatedGuest(options);
}

/** Creates and starts one simulated guest per uuid, all in this process. */
export async function startSimulatedGuests(
  uuids: readonly string[], options: Omit<SimulatedGuestOptions, 'uuid'>,
): Promise<SimulatedGuest[]> {
  const guests = uuids.map((uuid) => new SimulatedGuest({ ...options, uuid }));
  try {
    await Promise.all(guests.map((g) => g.start()));
  } catch (err) {
    await Promise.all(guests.map((g) => g.close()));
    throw err;
  }
  return guests;
}
