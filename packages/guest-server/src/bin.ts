#!/usr/bin/env node
import { runMain } from '@guesthb/daemon-kit';
import { USAGE } from './config.js';
import { main } from './main.js';

runMain('guest-server', () => main(), USAGE);
