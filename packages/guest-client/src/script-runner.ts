/**
 * Runs the health-check and event scripts (client §7.4, §9) without a shell: spawn(path, args), stdin and
 * stderr closed, stdout captured up to 256 bytes, the child in its own process group, SIGKILL to the group
 * on cancel or timeout.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Clock } from '@guesthb/protocol';
import { SCRIPT_OUTPUT_BYTES } from './client-rules.js';

/** How a run ended. `exitCode` is null when the child died of a signal (ours or another). */
export interface ScriptOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout, at most 256 bytes, newlines still in. */
  readonly output: string;
  /** Set when the script was not run: not a non-empty executable file (client §7.4). */
  readonly notRunnable?: string;
  /** The run was cancelled or timed out. */
  readonly killed: boolean;
}

/** A running script. */
export interface ScriptRun {
  readonly outcome: Promise<ScriptOutcome>;
  /** SIGKILL to the script's process group; idempotent. */
  cancel(): void;
}

export interface ScriptOptions {
  readonly clock: Clock;
  /** Hard limit of one run; 0 = none (the caller cancels). */
  readonly timeoutMs: number;
}

/** Checks that `path` is a non-empty executable regular file; returns the reason when it is not. */
export async function scriptProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return `${path} is not a regular file`;
    if (info.size === 0) return `${path} is empty`;
    await access(path, constants.X_OK);
    return undefined;
  } catch (err) {
    return `${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}

/** Starts `path args…`; never throws (a failure to start becomes exit status 1, as in client §7.4). */
export function runScript(path: string, args: readonly string[], options: ScriptOptions): ScriptRun {
  let cancelled = false;
  let killChild: (() => void) | undefined;
  const cancel = (): void => {
    cancelled = true;
    killChild?.();
  };
  const outcome = (async (): Promise<ScriptOutcome> => {
    const problem = await scriptProblem(path);
    if (problem !== undefined) return { exitCode: null, signal: null, output: '', notRunnable: problem, killed: false };
    if (cancelled) return { exitCode: null, signal: 'SIGKILL', output: '', killed: true };
    return spawnAndWait(path, args, options, (kill) => { killChild = kill; });
  })();
  return { outcome, cancel };
}

function spawnAndWait(
  path: string, args: readonly string[], options: ScriptOptions, setKill: (kill: () => void) => void,
): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true, shell: false });
    const chunks: Buffer[] = [];
    let captured = 0;
    let killed = false;
    let settled = false;
    const kill = (): void => {
      if (settled || killed) return;
      killed = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');      // the whole group (client §9)
      } catch {
        child.kill('SIGKILL');
      }
    };
    setKill(kill);
    const timer = options.timeoutMs > 0 ? options.clock.setTimeout(kill, options.timeoutMs) : undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (captured >= SCRIPT_OUTPUT_BYTES) return;                          // keep draining, stop storing
      const part = chunk.subarray(0, SCRIPT_OUTPUT_BYTES - captured);
      chunks.push(part);
      captured += part.length;
    });
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) options.clock.clearTimeout(timer);
      resolve({ exitCode, signal, output: Buffer.concat(chunks).toString('utf8'), killed });
    };
    // A child that cannot be executed counts as exit status 1, like the original's exit(-65535) (client §7.4).
    child.on('error', () => finish(1, null));
    child.on('close', (code, signal) => finish(code, signal));
  });
}
