#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { isConfigError } from './errors.js';
import { main } from './main.js';

if (process.argv.includes('--version')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  console.log(`awd ${pkg.version ?? 'unknown'}`);
  process.exit(0);
}
main().catch((err: unknown) => {
  // The logger may not exist yet: configuration errors come first and exit with 2.
  console.error(`awd: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(isConfigError(err) ? 2 : 1);
});
