/** Bounded waiting for a condition (never a fixed sleep as the assertion: STYLE.md R17). */

/** Polls `check` every `pollMs` until it is true; rejects naming `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  pollMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveTick) => setTimeout(resolveTick, pollMs));
  }
}

/** Resolves with the first value `probe` returns that is not undefined; rejects after `timeoutMs`. */
export async function waitForValue<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  pollMs = 20,
): Promise<T> {
  let found: T | undefined;
  await waitFor(async () => {
    found = await probe();
    return found !== undefined;
  }, timeoutMs, what, pollMs);
  return found as T;
}
