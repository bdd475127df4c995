/**
 * A whole local fleet for operator tests: the `npm start` demo run in-process (real guest-agent and
 * guest-server child processes, simulated guests, a fake VIM event sink), with its output captured.
 */
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runDemo, type DemoReady } from '@guesthb/demo';
import { waitForValue } from './wait.js';

export interface DemoFleet {
  readonly ready: DemoReady;
  /** Everything the demo printed so far. */
  output(): string;
  /** Stops the demo (Ctrl-C path); resolves with its exit code. */
  stop(): Promise<number>;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function startDemoFleet(o: { readonly guests: number; readonly faultAfterMs: number; readonly intervalMs?: number }): Promise<DemoFleet> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const controller = new AbortController();
  let ready: DemoReady | undefined;
  const done = runDemo({
    repoRoot: REPO_ROOT, guests: o.guests, faultAfterMs: o.faultAfterMs, durationMs: undefined, out, tty: false,
    signal: controller.signal, onReady: (info) => { ready = info; },
    ...(o.intervalMs === undefined ? {} : { intervalMs: o.intervalMs }),
  });
  let finished = false;
  void done.finally(() => { finished = true; });
  const stop = async (): Promise<number> => {
    controller.abort();
    return done;
  };
  try {
    const info = await waitForValue(() => {
      if (finished) throw new Error(`the demo ended before its fleet was ready:\n${text}`);
      return ready;
    }, 60_000, 'the demo fleet', 50);
    return { ready: info, output: () => text, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
