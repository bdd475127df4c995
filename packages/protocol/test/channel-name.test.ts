/** Heartbeat channel names (daemons §1.1). */
import { describe, expect, it } from 'vitest';
import { channelFileName, parseChannelName } from '../src/index.js';

const UUID = '5b2ad3e4-1f7c-4c8e-9f3a-0a1b2c3d4e5f';

describe('[CHAN-1] parseChannelName', () => {
  it('accepts cgcs.heartbeat.<uuid>.sock', () => {
    expect(parseChannelName(`cgcs.heartbeat.${UUID}.sock`)).toEqual({ uuid: UUID, pattern: 'cgcs' });
  });

  it('accepts the alternate wrs.heartbeat.agent.0.<uuid>.sock, which the original filtered but could not add', () => {
    expect(parseChannelName(`wrs.heartbeat.agent.0.${UUID}.sock`)).toEqual({ uuid: UUID, pattern: 'wrs' });
  });

  it('does not check that the 36 characters are hex or a UUID (as the original)', () => {
    const odd = 'z'.repeat(36);
    expect(parseChannelName(`cgcs.heartbeat.${odd}.sock`)).toEqual({ uuid: odd, pattern: 'cgcs' });
  });

  it.each([
    [`cgcs.heartbeat.${UUID.slice(1)}.sock`, '35 characters'],
    [`cgcs.heartbeat.${UUID}a.sock`, '37 characters'],
    [`cgcs.heartbeat.${UUID.slice(0, 35)}..sock`, 'a dot in the uuid'],
    [`cgcs.heartbeat.${UUID.slice(0, 35)}/.sock`, 'a slash in the uuid'],
    [`cgcs.heartbeat.${UUID.slice(0, 35)} .sock`, 'a blank in the uuid'],
    [`cgcs.heartbeat.${UUID}.sockx`, 'trailing characters after .sock'],
    [`cgcs.heartbeat.${UUID}.sock.swp`, 'an editor swap file'],
    [`cgcs.heartbeat.${UUID}`, 'no .sock'],
    [`xcgcs.heartbeat.${UUID}.sock`, 'another prefix'],
    [`wrs.heartbeat.agent.1.${UUID}.sock`, 'agent 1'],
    ['', 'empty'],
  ])('refuses %s (%s)', (name) => {
    expect(parseChannelName(name)).toBeUndefined();
  });
});

describe('channelFileName', () => {
  it('is the cgcs form QEMU creates, and parses back', () => {
    expect(channelFileName(UUID)).toBe(`cgcs.heartbeat.${UUID}.sock`);
    expect(parseChannelName(channelFileName(UUID))?.uuid).toBe(UUID);
  });
});
