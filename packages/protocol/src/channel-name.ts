/** Heartbeat channel socket names (daemons §1.1): both patterns, the uuid exactly 36 characters without '.'. */
import { CHANNEL_ALT_PREFIX, CHANNEL_PREFIX, CHANNEL_SUFFIX, UUID_CHARS } from './constants.js';

export interface ChannelName {
  readonly uuid: string;
  /** `cgcs` for cgcs.heartbeat.<uuid>.sock, `wrs` for wrs.heartbeat.agent.0.<uuid>.sock. */
  readonly pattern: 'cgcs' | 'wrs';
}

/** Parses a directory entry name; undefined when it is not a heartbeat channel. [CHAN-1] */
export function parseChannelName(fileName: string): ChannelName | undefined {
  for (const [prefix, pattern] of [[CHANNEL_PREFIX, 'cgcs'], [CHANNEL_ALT_PREFIX, 'wrs']] as const) {
    if (!fileName.startsWith(prefix) || !fileName.endsWith(CHANNEL_SUFFIX)) continue;
    const uuid = fileName.slice(prefix.length, fileName.length - CHANNEL_SUFFIX.length);
    if (uuid.length === UUID_CHARS && !uuid.includes('.') && !uuid.includes('/') && !/\s/.test(uuid)) {
      return { uuid, pattern };
    }
  }
  return undefined;
}

/** The socket file name QEMU/libvirt creates for an instance: cgcs.heartbeat.<uuid>.sock. */
export function channelFileName(uuid: string): string {
  return `${CHANNEL_PREFIX}${uuid}${CHANNEL_SUFFIX}`;
}
