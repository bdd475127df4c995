/** The root logger of a daemon (STYLE.md R16): JSON to stdout, one per process. */
import { pino, type Logger } from 'pino';

/** Creates the root logger; components take `log.child({ component })`. */
export function createRootLogger(name: string, level: string): Logger {
  return pino({ name, level });
}
