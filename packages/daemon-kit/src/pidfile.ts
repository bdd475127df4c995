/** Pidfiles for pmon, OCF and LSB tooling (daemons §7.4). */
import { readFile, rm, writeFile } from 'node:fs/promises';

/** Writes the current pid (with a newline) to `path`, replacing a stale file. */
export async function writePidfile(path: string, pid: number = process.pid): Promise<void> {
  await writeFile(path, `${pid}\n`, { mode: 0o644 });
}

/** Removes the pidfile if it still names this process; ignores a missing file. */
export async function removePidfile(path: string, pid: number = process.pid): Promise<void> {
  try {
    const content = await readFile(path, 'utf8');
    if (Number.parseInt(content.trim(), 10) === pid) await rm(path, { force: true });
  } catch {
    // Already gone: nothing to remove.
  }
}
