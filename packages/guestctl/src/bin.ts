#!/usr/bin/env node
import { runGuestctl } from './main.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
runGuestctl({
  argv: process.argv.slice(2), env: process.env, signal: controller.signal,
  out: { write: (text) => process.stdout.write(text) },
  err: { write: (text) => process.stderr.write(text) },
}).then((code) => {
  process.exitCode = code;
  if (controller.signal.aborted) process.exit(code); // the aborted fetch may keep a socket open for a moment
}, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
