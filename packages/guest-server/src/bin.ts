#!/usr/bin/env -S node --max-semi-space-size=16 --no-allocation-site-pretenuring
// The V8 flags on the line above are part of how guest-server ships (packages/guest-server/README.md
// "Memory"). 16 MB semi-spaces: a heartbeat now leaves ~900 bytes of garbage and each guest ~260 bytes that
// a scavenge copies, so at 10 000 guests @ 400 ms a scavenge runs about every 0.7 s and pauses ~3 ms, a
// state (which lives one interval) is never promoted, and the young generation is 32 MB where 64 MB
// semi-spaces made it 128 MB (−80 MB of RSS at 10 000 guests, the tail unchanged; bench/README.md "Issue 17").
// Without pretenuring, V8 does not decide during the start-up burst (when every instance's state survives)
// to allocate the heartbeat's states in the old generation, where they die and are collected by 8–11 ms
// mark-compacts every few seconds (5000 guests: jitter p99 13–17 ms with it, 2.7 ms without).
// scripts/pack.sh copies the flags of this line into the installed /usr/local/bin/guest-server wrapper, and
// bench/ measures with them: this line is the one source.
import { runMain } from '@guesthb/daemon-kit';
import { SERVER_HELP } from './help.js';
import { main } from './main.js';

runMain('guest-server', () => main(), SERVER_HELP, undefined, new URL('../package.json', import.meta.url));
