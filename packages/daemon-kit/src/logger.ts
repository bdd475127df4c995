/** The root logger of a daemon (STYLE.md R16): JSON to stdout, one per process. */
import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

/** Creates the root logger; components take `log.child({ component })`. */
export function createRootLogger(name: string, level: string, destination: DestinationStream = stdoutDestination()): Logger {
  return pino({ name, level }, destination);
}

/**
 * Synchronous writes to fd 1 that never throw and never queue: once stdout is gone (EPIPE: a closed pipe,
 * a dead journald stream) logging stops and the daemon carries on, so a SIGTERM still shuts it down
 * (issue 11 item 7: with stdout a closed pipe, the EPIPE of a log line inside the signal handler left the
 * daemon running). A full non-blocking pipe (EAGAIN) drops the line instead of buffering it.
 */
export function stdoutDestination(fd = 1, write: (fd: number, data: Buffer) => number = (f, d) => writeSync(f, d)): DestinationStream & { readonly broken: boolean } {
  let broken = false;
  return {
    get broken(): boolean {
      return broken;
    },
    write(line: string): void {
      if (broken) return;
      let data = Buffer.from(line);
      try {
        while (data.length > 0) {
          const n = write(fd, data);
          data = data.subarray(n);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') broken = true;
      }
    },
  };
}
