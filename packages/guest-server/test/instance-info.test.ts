/** The instance-info record's operator fields (issue 15): name, interval, misses and the last round trip. */
import { describe, expect, it } from 'vitest';
import { InstanceInfoSchema } from '@guesthb/protocol';
import { buildInstanceInfo } from '../src/instance-info.js';
import { DEFAULT_GUEST_PARAMS, initialInstanceState, type InstanceState } from '../src/instance-state.js';

const UUID = '6f0c1f8e-3d0a-4b51-9a4c-5d1e2f3a4b5c';
const params = { ...DEFAULT_GUEST_PARAMS, invocationId: 7, name: 'vm-7', intervalMs: 400 };
const cycling = ({ answered = true, ...over }: Partial<{ sentAt: number; answered: boolean; misses: number }>, lastSignAt: number): InstanceState => ({
  ...initialInstanceState(0, true), params, lastSignAt, answered,
  cycle: { kind: 'cycling', challenge: 1, scheduledAt: 1000, sentAt: 1000, misses: 0, ...over },
});

describe('buildInstanceInfo: the operator fields', () => {
  it('leave the name and interval out until the guest has sent init', () => {
    const info = buildInstanceInfo('compute-0', UUID, initialInstanceState(0));
    expect(info).not.toHaveProperty('name');
    expect(info).not.toHaveProperty('intervalMs');
    expect(info.misses).toBe(0);
    expect(info).not.toHaveProperty('lastRttMs');
  });

  it('carry the init name and interval, the misses of the cycle, and the round trip of an answered challenge', () => {
    const info = buildInstanceInfo('compute-0', UUID, cycling({ sentAt: 1000, answered: true }, 1000.25));
    expect(info).toMatchObject({ name: 'vm-7', intervalMs: 400, misses: 0, lastRttMs: 0.25 });
    expect(InstanceInfoSchema.parse(info)).toEqual(info);
  });

  it('have no round trip while the challenge is unanswered, and count its misses', () => {
    const info = buildInstanceInfo('compute-0', UUID, cycling({ sentAt: 2000, answered: false, misses: 2 }, 1000.25));
    expect(info).not.toHaveProperty('lastRttMs');
    expect(info.misses).toBe(2);
  });
});
