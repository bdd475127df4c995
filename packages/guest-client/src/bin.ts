#!/usr/bin/env node
import { runMain } from '@guesthb/daemon-kit';
import { main } from './main.js';

runMain('guest-client', () => main(), undefined, undefined, new URL('../package.json', import.meta.url));
