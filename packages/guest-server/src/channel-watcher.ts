/**
 * Discovery of heartbeat channel sockets (daemons §1.1): one inotify watch on channel_dir (node:fs watch),
 * plus a directory listing used at start and by the periodic search audit.
 *
 * Cost is paid only for channel names (issue 11 item 5): a directory event whose name the caller does not
 * accept (`accepts`, parseChannelName in practice) is dropped before any system call, and nothing is kept
 * per foreign file. chokidar tracked every file in the directory: 10 000 foreign files cost 130–200 MB and
 * made challenges 90–135 ms late. A channel name is lstat'ed, never stat'ed: a symlink or anything that is
 * not a socket is refused (logged once per path), so a link named like a channel cannot lead the server to
 * a socket outside the directory.
 */
import { watch, type Dirent, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';

export interface ChannelDirEvents {
  /** Whether a file name may be a channel; anything else is ignored at no cost. */
  accepts(name: string): boolean;
  onAdded(path: string): void;
  onRemoved(path: string): void;
  /** A channel name that is not a socket (a symlink, a file …): never connected to. */
  onRefused(path: string, what: string): void;
  /** The watch stopped working (the directory was removed): the caller watches again later. */
  onLost?(err: unknown): void;
}

export interface ChannelDirWatcher {
  close(): Promise<void>;
}

export type WatchChannelDir = (dir: string, events: ChannelDirEvents, log: Logger) => Promise<ChannelDirWatcher>;

/** Refused paths remembered so each is logged once; past this many the memory starts over. */
const MAX_REFUSALS_REMEMBERED = 1_000;

/** Logs each refused path once (bounded): a symlink or a non-socket named like a channel. */
export class RefusalLog {
  readonly #seen = new Set<string>();
  readonly #log: Logger;
  #count = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** How many refusals (logged or not) so far. */
  get count(): number {
    return this.#count;
  }

  refuse(path: string, kind: string): void {
    this.#count++;
    if (this.#seen.has(path)) return;
    if (this.#seen.size >= MAX_REFUSALS_REMEMBERED) this.#seen.clear();
    this.#seen.add(path);
    this.#log.warn({ path, kind }, 'channel name refused: not a socket (symlinks are never followed)');
  }

  /** The path became acceptable or vanished: a later refusal is logged again. */
  forget(path: string): void {
    this.#seen.delete(path);
  }
}

/** What a channel path is, by lstat: a socket (with its inode), gone, or something refused. */
export type ChannelEntry =
  | { readonly kind: 'socket'; readonly ino: number }
  | { readonly kind: 'gone' }
  | { readonly kind: 'refused'; readonly what: string };

export async function inspectChannel(path: string): Promise<ChannelEntry> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) return { kind: 'socket', ino: st.ino };
    return { kind: 'refused', what: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    return { kind: 'refused', what: `lstat ${(err as NodeJS.ErrnoException).code ?? 'failed'}` };
  }
}

/**
 * inotify on the directory. A name event becomes added (a socket, or a socket with a new inode: replaced,
 * reported as removed then added) or removed (gone). A lost watch (the directory removed) is logged; the
 * search audit keeps discovery going.
 */
export const watchChannelDir: WatchChannelDir = async (dir, events, log) => {
  const known = new Map<string, number>();   // accepted channel path → inode
  let closed = false;
  const inspect = async (path: string): Promise<void> => {
    const entry = await inspectChannel(path);
    if (closed) return;
    const prev = known.get(path);
    if (entry.kind === 'socket') {
      if (prev === entry.ino) {
        events.onAdded(path);    // a change event on the same socket: the caller ignores a live channel
        return;
      }
      if (prev !== undefined) events.onRemoved(path);
      known.set(path, entry.ino);
      events.onAdded(path);
      return;
    }
    if (entry.kind === 'refused') events.onRefused(path, entry.what);
    if (prev !== undefined) {
      known.delete(path);
      events.onRemoved(path);
    }
  };
  let watcher: FSWatcher;
  const dirName = basename(dir);
  await lstat(dir);   // throws ENOENT when the directory does not exist yet
  await new Promise<void>((resolve, reject) => {
    watcher = watch(dir, { persistent: true }, (_type, name) => {
      if (closed) return;
      // The directory itself removed (inotify reports its own name): this watch is dead; the caller re-watches.
      // The directory itself removed or moved (inotify reports its own name): this watch follows the old
      // inode and sees nothing of a re-created directory; the caller watches again.
      // (A child of that same name is just a foreign file.)
      if (name === dirName) {
        void lstat(join(dir, name)).then(() => undefined, () => {
          if (closed) return;
          log.warn({ dir }, 'channel directory removed or moved; relying on the search audit until it watches again');
          events.onLost?.(new Error(`${dir} removed or moved`));
        });
        return;
      }
      // No name (rare; inotify overflow): the periodic search audit catches up.
      if (name === null || !events.accepts(name)) return;
      void inspect(join(dir, name));
    });
    watcher.once('error', reject);
    // fs.watch is set up synchronously; errors (ENOENT, EACCES) are thrown or emitted at once.
    setImmediate(() => {
      watcher.off('error', reject);
      watcher.on('error', (err: unknown) => {
        log.error({ err }, 'channel directory watcher failed; relying on the search audit until it watches again');
        events.onLost?.(err);
      });
      resolve();
    });
  });
  return {
    close: async () => {
      closed = true;
      watcher.close();
    },
  };
};

/**
 * The channel sockets in `dir` as full paths: names the filter accepts whose directory entry is a socket
 * (d_type, no stat per file). Symlinks and other types under a channel name go to `refused`. A missing
 * directory throws (the caller warns).
 */
export async function listChannelDir(dir: string, accepts: (name: string) => boolean, refused?: (path: string, what: string) => void): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    if (!accepts(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isSocket()) out.push(path);
    else if (isTyped(entry)) refused?.(path, entry.isSymbolicLink() ? 'symlink' : entry.isDirectory() ? 'directory' : entry.isFile() ? 'file' : 'other');
    else {
      // DT_UNKNOWN (some file systems do not fill d_type): lstat this one name.
      const found = await inspectChannel(path);
      if (found.kind === 'socket') out.push(path);
      else if (found.kind === 'refused') refused?.(path, found.what);
    }
  }
  return out;
}

function isTyped(e: Dirent): boolean {
  return e.isFile() || e.isDirectory() || e.isSymbolicLink() || e.isFIFO() || e.isCharacterDevice() || e.isBlockDevice();
}
