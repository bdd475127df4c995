/**
 * Discovery of heartbeat channel sockets (daemons §1.1): chokidar over channel_dir behind a small adapter,
 * plus a directory listing used at start and by the periodic search audit. Names are filtered by the
 * caller (parseChannelName), so this edge knows nothing of the protocol.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { watch } from 'chokidar';
import type { Logger } from 'pino';

export interface ChannelDirEvents {
  onAdded(path: string): void;
  onRemoved(path: string): void;
}

export interface ChannelDirWatcher {
  close(): Promise<void>;
}

export type WatchChannelDir = (dir: string, events: ChannelDirEvents, log: Logger) => Promise<ChannelDirWatcher>;

/** chokidar, depth 0, no atomic coalescing: a replaced socket arrives as unlink + add (or change). */
export const watchChannelDir: WatchChannelDir = async (dir, events, log) => {
  const watcher = watch(dir, { depth: 0, ignoreInitial: true, atomic: false, persistent: true });
  watcher.on('add', (path: string) => events.onAdded(path));
  watcher.on('change', (path: string) => events.onAdded(path));
  watcher.on('unlink', (path: string) => events.onRemoved(path));
  watcher.on('error', (err: unknown) => log.error({ err }, 'channel directory watcher failed'));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { close: () => watcher.close() };
};

/** Lists the entries of `dir` as full paths; a missing directory lists as empty (with a warning by the caller). */
export async function listChannelDir(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.map((name) => join(dir, name));
}
