#!/usr/bin/env node
import { runMain } from '@guesthb/daemon-kit';
import { main } from './main.js';

runMain('guest-server', () => main());
