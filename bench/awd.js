// Issue 8 item 4d: awd firing error (actual − configured timeout), from the awd package's own benchmark
// entry (packages/awd/src/bench-firing.ts): real monotonic clock, one timer per watchdog.
import { benchFiring } from '@guesthb/awd';

export async function runAwd({ trials = 500, timeoutMs = 50, concurrency = 10 }) {
  const result = await benchFiring({ trials, timeoutMs, concurrency });
  return { ...result, concurrency };
}
