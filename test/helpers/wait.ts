/** Bounded waiting for a condition (never a fixed sleep as the assertion: STYLE.md R17). */

/** How often waitFor and waitForValue poll unless told otherwise, ms. */
export const POLL_MS = 25;

/**
 * Polls `check` every `pollMs` until it is true; rejects naming `what` after `timeoutMs`, with `report()`
 * (e.g. the daemons' last log lines) appended to the message when given.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  report?: () => string,
  pollMs = POLL_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${report === undefined ? '' : `\n${report()}`}`);
    await new Promise((tick) => setTimeout(tick, pollMs));
  }
}

/** Resolves with the first value `probe` returns that is not undefined; rejects after `timeoutMs`. */
export async function waitForValue<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  pollMs = POLL_MS,
): Promise<T> {
  let found: T | undefined;
  await waitFor(async () => {
    found = await probe();
    return found !== undefined;
  }, timeoutMs, what, undefined, pollMs);
  return found as T;
}
