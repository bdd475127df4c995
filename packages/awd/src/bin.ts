#!/usr/bin/env node
import { isConfigError } from './errors.js';
import { main } from './main.js';

main().catch((err: unknown) => {
  // The logger may not exist yet: configuration errors come first and exit with 2.
  console.error(`awd: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(isConfigError(err) ? 2 : 1);
});
