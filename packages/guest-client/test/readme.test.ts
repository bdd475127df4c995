/** Every error code of the registry is documented in README.md, and the README names no other (STYLE.md R11). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GuestClientErrorCode } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README.md', () => {
  it('documents every error code, and only those', () => {
    const codes = Object.values(GuestClientErrorCode);
    for (const code of codes) expect(readme).toContain(`\`${code}\``);
    const documented = new Set(readme.match(/GC_ERR_[A-Z_]+/g));
    expect([...documented].sort()).toEqual([...codes].sort());
  });

  it('documents every configuration key', () => {
    for (const key of ['HB_INIT_RETRY', 'HB_MIN_TIMEOUT', 'HB_INTERVAL', 'VOTE', 'SHUTDOWN_NOTICE', 'SUSPEND_NOTICE', 'RESUME_NOTICE', 'RESTART', 'CORRECTIVE_ACTION', 'HEALTH_CHECK_INTERVAL', 'HEALTH_CHECK_SCRIPT', 'EVENT_NOTIFICATION_SCRIPT']) {
      expect(readme).toContain(`| \`${key}\` |`);
    }
  });
});
