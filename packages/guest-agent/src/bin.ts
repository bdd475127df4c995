#!/usr/bin/env node
import { runMain } from '@guesthb/daemon-kit';
import { AGENT_HELP } from './help.js';
import { main } from './main.js';

runMain('guest-agent', () => main(), AGENT_HELP, undefined, new URL('../package.json', import.meta.url));
