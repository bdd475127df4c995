#!/usr/bin/env node
/** `npm start` → this: the local all-in-one demo (see demo.ts). Ctrl-C stops it cleanly. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';

const HELP = `usage: npm start -- [--guests N] [--fault-after-s S] [--interval-ms MS] [--duration-s S]
       node packages/demo/dist/bin.js [same options]

A local all-in-one guest heartbeat deployment in a temp dir: a VIM event sink, guest-agent, guest-server
and N simulated guests (default 5, at most 500). After S seconds (default 10) guest #2 stops answering,
guest #3 reports unhealthy, and 2 s later the VIM asks guest #1 to vote on "stop". Prints the status page
URL and a guestctl command line. --interval-ms: the guests' heartbeat interval (default 1000, ≥ 400).
--duration-s: stop by itself. Ctrl-C stops everything and removes the temp dir.`;

let values: { guests: string; 'fault-after-s': string; 'interval-ms': string; 'duration-s'?: string | undefined; help?: boolean | undefined; version?: boolean | undefined };
try {
  ({ values } = parseArgs({
    options: {
      guests: { type: 'string', default: '5' },
      'fault-after-s': { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '1000' },
      'duration-s': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n${HELP}`);
  process.exit(2);
}
if (values.help === true) {
  console.log(HELP);
  process.exit(0);
}
if (values.version === true) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  console.log(`guesthb-demo ${pkg.version ?? 'unknown'}`);
  process.exit(0);
}
const number = (name: string, text: string | undefined, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name}: expected an integer from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const controller = new AbortController();
let stops = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (++stops > 1) process.exit(130);                    // a second Ctrl-C: leave at once
    controller.abort();
  });
}
// `npm start | head -3`: once the reader is gone (EPIPE), stop as on Ctrl-C (daemons stopped, temp dir
// removed) instead of dying on the write error and leaving an orphan guest-agent (issue 11 item 7). Later
// writes fail the same way and land here too.
process.stdout.on('error', () => {
  if (!controller.signal.aborted) controller.abort();
});
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
runDemo({
  repoRoot,
  guests: number('guests', values.guests, 3, 500),
  faultAfterMs: number('fault-after-s', values['fault-after-s'], 0, 3600) * 1000,
  intervalMs: number('interval-ms', values['interval-ms'], 400, 60_000),
  durationMs: values['duration-s'] === undefined ? undefined : number('duration-s', values['duration-s'], 1, 86_400) * 1000,
  out: process.stdout,
  tty: process.stdout.isTTY === true,
  columns: () => process.stdout.columns,
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
