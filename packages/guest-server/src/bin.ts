#!/usr/bin/env -S node --max-semi-space-size=64
// The V8 flag on the line above is part of how guest-server ships: a bigger young generation makes the
// 6–9 ms scavenges that set the p99 challenge jitter ~4× rarer (bench/README.md "Performance").
// Smaller values (16, 32) and --optimize-for-size were measured for memory (issue 17 item 4) and cost more in
// GC time and tail than they save in RSS (packages/guest-server/README.md "Memory").
// scripts/pack.sh copies the flags of this line into the installed /usr/local/bin/guest-server wrapper, and
// bench/ measures with them: this line is the one source.
import { runMain } from '@guesthb/daemon-kit';
import { SERVER_HELP } from './help.js';
import { main } from './main.js';

runMain('guest-server', () => main(), SERVER_HELP, undefined, new URL('../package.json', import.meta.url));
