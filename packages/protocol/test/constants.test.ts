/** The numbers of the original, checked against the spec tables (daemons §10, client §3, §6). */
import { describe, expect, it } from 'vitest';
import * as protocol from '../src/index.js';

describe('constants (daemons §10)', () => {
  it.each([
    ['PROTOCOL_VERSION', 3], ['PROTOCOL_REVISION', 1],
    ['MAX_MESSAGE_BYTES', 1056], ['ORIGINAL_MIN_READ_BYTES', 32],
    ['MAX_VALUE_CHARS', 32], ['MAX_NAME_CHARS', 64], ['MAX_LOG_CHARS', 224], ['UUID_CHARS', 36],
    ['MAX_CHALLENGE', 2147483647], ['INT32_MIN', -2147483648], ['INT32_MAX', 2147483647],
    ['AGENT_RX_PORT', 2401], ['AGENT_VIM_CMD_PORT', 2410], ['SERVER_RX_PORT', 2411], ['VIM_EVENT_PORT', 30002],
    ['HBS_PULSE_PERIOD_MS', 400], ['HBS_FAILURE_THRESHOLD', 1], ['DEFAULT_HEARTBEAT_INTERVAL_MS', 1000],
    ['DEFAULT_NOTICE_SECS', 10], ['DEFAULT_RESTART_SECS', 120], ['DEFAULT_CORRECTIVE_ACTION', 'log'],
    ['CONNECT_BACKOFF_FIRST_MS', 1000], ['CONNECT_BACKOFF_MAX_MS', 60000],
    ['HEARTBEAT_START_TIMEOUT_MS', 120000], ['WAIT_FOR_INIT_TIMEOUT_MS', 60000],
    ['SEARCH_AUDIT_SECS', 180], ['AUDIT_PERIOD_SECS', 10], ['VIM_HTTP_TIMEOUT_MS', 20000],
    ['CLIENT_INIT_RETRY_MS', 5000], ['CLIENT_MIN_CHALLENGE_TIMEOUT_MS', 5000], ['CLIENT_PROPAGATION_DELAY_SECS', 1],
    ['CHANNEL_PREFIX', 'cgcs.heartbeat.'], ['CHANNEL_ALT_PREFIX', 'wrs.heartbeat.agent.0.'], ['CHANNEL_SUFFIX', '.sock'],
    ['DEFAULT_CHANNEL_DIR', '/var/lib/libvirt/qemu'], ['DEFAULT_GUEST_DEVICE', '/dev/virtio-ports/cgcs.heartbeat'],
    ['VIM_USER_AGENT', 'vim/1.0'],
  ])('%s = %j', (name, value) => {
    expect((protocol as Record<string, unknown>)[name]).toBe(value);
  });

  it('keeps the challenge range inside int32, so the reference client never clamps it (client §3)', () => {
    expect(protocol.MAX_CHALLENGE).toBeLessThanOrEqual(protocol.INT32_MAX);
  });
});
