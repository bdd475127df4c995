/**
 * The fleet of the issue 12 fault trials: a fault Stack with the journaled agent, its guest-server (with or
 * without a state directory) and `n` provisioned simulated guests heartbeating every 300 ms with corrective
 * action reboot, each already reported to the VIM as enabled.
 */
import { onTestFinished } from 'vitest';
import { SimulatedGuest, type SimulatedVote } from '@guesthb/guest-client';
import { Stack, isVimEvent, uuidOf } from './stack.js';
import { startAgentWithState } from './agent-faults.js';
import { startServerWithState } from './server-faults.js';

export interface FleetOptions {
  /** Start guest-server with its state directory (startServerWithState); default true. */
  readonly serverState?: boolean;
  /** The guests' vote_secs (default: the simulator's). */
  readonly voteSecs?: number;
  /** How the guests answer votes (default accept). */
  readonly vote?: SimulatedVote;
}

export interface Fleet {
  readonly stack: Stack;
  readonly uuids: string[];
  readonly guests: SimulatedGuest[];
}

export async function startFleet(n: number, base: number, options: FleetOptions = {}): Promise<Fleet> {
  const stack = await Stack.create({ auditSecs: 1 });
  await startAgentWithState(stack);
  if (options.serverState ?? true) await startServerWithState(stack);
  else await stack.startServer();
  const uuids = Array.from({ length: n }, (_, i) => uuidOf(base + i));
  await stack.provision(uuids);
  const guests: SimulatedGuest[] = [];
  for (const uuid of uuids) {
    const guest = new SimulatedGuest({
      dir: stack.channelDir, uuid,
      config: { heartbeatIntervalMs: 300, correctiveAction: 'reboot', ...(options.voteSecs === undefined ? {} : { voteSecs: options.voteSecs }) },
      ...(options.vote === undefined ? {} : { faults: { vote: options.vote } }),
    });
    onTestFinished(() => guest.close());
    await guest.start();
    guests.push(guest);
  }
  for (const uuid of uuids) await stack.vim.waitFor((r) => isVimEvent(r, 'service', uuid), 20_000);
  return { stack, uuids, guests };
}

/** The VIM record matching `predicate`; on a timeout the daemons' last log lines join the error. */
export async function vimRecord(stack: Stack, predicate: Parameters<Stack['vim']['waitFor']>[0], timeoutMs: number): Promise<Awaited<ReturnType<Stack['vim']['waitFor']>>> {
  try {
    return await stack.vim.waitFor(predicate, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.report()}`, { cause: err });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
