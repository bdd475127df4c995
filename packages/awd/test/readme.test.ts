/** The error registry (STYLE.md R11): every AwdErrorCode is documented in the README, and nothing else is. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AwdErrorCode } from '../src/errors.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code, and no code that does not exist', () => {
    const codes = Object.values(AwdErrorCode);
    for (const code of codes) expect(README).toContain(`\`${code}\``);
    expect([...new Set(README.match(/AWD_ERR_[A-Z_]+/g) ?? [])].sort()).toEqual([...codes].sort());
  });

  it('documents every watchdog property and input/notify mode', () => {
    for (const key of ['pulse_interval', 'timeout', 'input', 'notify', 'arm_at_start', 'notify_retries', 'notify_retry_ms', 'notify_timeout_ms', 'opt_script', 'iothread', 'max_script_bytes', 'stall_threshold_ms']) {
      expect(README).toContain(`\`${key}\``);
    }
    for (const mode of ['`any`', '`frame`', '`watchdog1`', '**auto**', '**raw**', '**hmp**', '**qmp**']) expect(README).toContain(mode);
  });
});
