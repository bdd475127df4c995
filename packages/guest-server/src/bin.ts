#!/usr/bin/env -S node --max-semi-space-size=64
// The V8 flag on the line above is part of how guest-server ships: with the default 16 MB young generation,
// 2000 guests' per-heartbeat state is copied by a 6–8 ms scavenge about twice a second, which sets the p99
// challenge jitter (bench/README.md "Performance"). scripts/pack.sh copies the flags of this line into the
// installed /usr/local/bin/guest-server wrapper, and bench/ measures with them: this line is the one source.
import { runMain } from '@guesthb/daemon-kit';
import { USAGE } from './config.js';
import { main } from './main.js';

runMain('guest-server', () => main(), USAGE);
