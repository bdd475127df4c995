/**
 * The state directory (issue 12 item 1): `[client] state_dir`, created 0700, holding one crash-safe journal
 * (@guesthb/outbox Journal) with the instance knowledge, host reporting and unacknowledged events.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '@guesthb/daemon-kit';
import { Journal } from '@guesthb/outbox';

/** The journal's file name inside the state directory. */
export const JOURNAL_FILE = 'guest-server.journal';

/**
 * Creates the directory (0700; an existing one is set to 0700) and opens the journal. Damage in the file
 * is logged by the journal and skipped; a directory that cannot be used is a configuration error.
 */
export async function openStateDir(dir: string, log: Logger): Promise<Journal> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const journal = await Journal.open({ path: join(dir, JOURNAL_FILE), log: log.child({ component: 'journal' }) });
    const r = journal.openReport;
    log.info({ stateDir: dir, records: r.records, liveKeys: r.liveKeys, fileBytes: r.fileBytes, corrupt: r.corrupt.length, tornTail: r.tornTail !== undefined }, 'state directory opened');
    return journal;
  } catch (err) {
    throw new ConfigError('[client] state_dir', `cannot use ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
