/**
 * Which connector opens the heartbeat channels (`[client] channel_io`, issue 17): `pipe-handle` (default)
 * drives libuv's pipe handle directly (pipe-handle-channel.ts), `stream` goes through net.Socket
 * (channel-connector.ts). `pipe-handle` falls back to `stream` when this Node lacks the private bindings.
 */
import { connectUnixChannel, type ChannelConnector } from './channel-connector.js';
import { pipeHandleConnector } from './pipe-handle-channel.js';

export const CHANNEL_IO_MODES = ['pipe-handle', 'stream'] as const;
export type ChannelIoMode = (typeof CHANNEL_IO_MODES)[number];

export interface ChannelIoChoice {
  readonly connect: ChannelConnector;
  /** What is in use: differs from the mode asked for only after a fallback. */
  readonly used: ChannelIoMode;
}

/** The connector for `mode`; `pipe-handle` without usable bindings gives the stream connector. */
export function selectChannelConnector(mode: ChannelIoMode): ChannelIoChoice {
  if (mode === 'pipe-handle') {
    const connect = pipeHandleConnector();
    if (connect !== undefined) return { connect, used: 'pipe-handle' };
  }
  return { connect: connectUnixChannel, used: 'stream' };
}
