#!/usr/bin/env -S node --max-semi-space-size=64 --no-allocation-site-pretenuring
// The V8 flags on the line above are part of how guest-server ships: a bigger young generation makes the
// 6–9 ms scavenges that set the p99 challenge jitter ~4× rarer (bench/README.md "Performance"); without
// pretenuring, V8 does not decide during the start-up burst (when every instance's state survives) to
// allocate the heartbeat's states in the old generation, where they die and are collected by 8–11 ms
// mark-compacts every few seconds (5000 guests: jitter p99 13–17 ms with it, 2.7 ms without).
// Smaller values (16, 32) and --optimize-for-size were measured for memory (issue 17 item 4) and cost more in
// GC time and tail than they save in RSS (packages/guest-server/README.md "Memory").
// scripts/pack.sh copies the flags of this line into the installed /usr/local/bin/guest-server wrapper, and
// bench/ measures with them: this line is the one source.
import { runMain } from '@guesthb/daemon-kit';
import { SERVER_HELP } from './help.js';
import { main } from './main.js';

runMain('guest-server', () => main(), SERVER_HELP, undefined, new URL('../package.json', import.meta.url));
