/** guest-server's health reasons (issue 11 item 6): pure, from the outbox figures and the last command. */
import { describe, expect, it } from 'vitest';
import { HEALTH_UNACKED_BOUND_MS, serverHealth } from '../src/server-health.js';

const healthy = { depth: 0, oldestUnackedAgeMs: 0, consecutiveFailures: 0 };

describe('serverHealth', () => {
  it('ok once the agent has commanded us and delivery works', () => {
    expect(serverHealth({ outbox: healthy, lastCommandAt: 5_000, now: 7_000, authenticated: true, bindAddress: '0.0.0.0' }))
      .toEqual({ reasons: [], warnings: [], lastAgentCommandSecs: 2 });
  });

  it('never commanded (a wrong hostname / advertise_url), agent unreachable, token refused, events stuck', () => {
    const never = serverHealth({ outbox: healthy, lastCommandAt: undefined, now: 0, authenticated: true, bindAddress: '0.0.0.0' });
    expect(never.reasons.join()).toContain('no command from the agent');
    const down = serverHealth({ outbox: { depth: 3, oldestUnackedAgeMs: HEALTH_UNACKED_BOUND_MS + 1, consecutiveFailures: 4, lastError: 'connect ECONNREFUSED' }, lastCommandAt: 0, now: 1, authenticated: true, bindAddress: '0.0.0.0' });
    expect(down.reasons).toHaveLength(2);
    expect(down.reasons[0]).toContain('agent unreachable: connect ECONNREFUSED');
    const refused = serverHealth({ outbox: { depth: 1, oldestUnackedAgeMs: 10, consecutiveFailures: 1, lastError: 'agent answered HTTP 401: {}' }, lastCommandAt: 0, now: 1, authenticated: true, bindAddress: '0.0.0.0' });
    expect(refused.reasons).toEqual(['agent refuses our token (HTTP 401): the token files differ']);
  });

  it('warns (without degrading) about an unauthenticated peer API beyond loopback', () => {
    expect(serverHealth({ outbox: healthy, lastCommandAt: 0, now: 0, authenticated: false, bindAddress: '0.0.0.0' }).warnings).toHaveLength(1);
    expect(serverHealth({ outbox: healthy, lastCommandAt: 0, now: 0, authenticated: false, bindAddress: '127.0.0.1' }).warnings).toHaveLength(0);
  });
});
