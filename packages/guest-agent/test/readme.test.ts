/** Every error code of the registry is documented in README.md, and every documented code exists (STYLE.md R11). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GuestAgentErrorCode } from '../src/index.js';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

describe('README', () => {
  it('documents every error code, and only existing ones', () => {
    const codes = Object.values(GuestAgentErrorCode);
    for (const code of codes) expect(README).toContain(`\`${code}\``);
    const documented = new Set(README.match(/GA_ERR_[A-Z_]+/g));
    expect([...documented].sort()).toEqual([...codes].sort());
  });

  it('documents every metric', () => {
    for (const name of ['guest_agent_vim_requests_total', 'guest_agent_vim_events_total', 'guest_agent_outbox_depth', 'guest_agent_audit_runs_total',
      'guest_agent_server_events_total', 'guest_agent_server_commands_total', 'guest_agent_instances', 'guest_agent_hosts']) {
      expect(README).toContain(`\`${name}\``);
    }
  });
});
