#!/usr/bin/env node
/** `npm start` → this: the local all-in-one demo (see demo.ts). Ctrl-C stops it cleanly. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';

const { values } = parseArgs({
  options: {
    guests: { type: 'string', default: '5' },
    'fault-after-s': { type: 'string', default: '10' },
    'duration-s': { type: 'string' },
  },
});
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
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
runDemo({
  repoRoot,
  guests: number('guests', values.guests, 3, 500),
  faultAfterMs: number('fault-after-s', values['fault-after-s'], 0, 3600) * 1000,
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
