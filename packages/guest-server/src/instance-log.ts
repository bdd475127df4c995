/**
 * The logger of one instance, made on its first line (issue 17 item 4): a pino child per instance costs
 * ~650 bytes (the child, its property array and its serialized bindings, five strings), while most
 * instances never write a line at the shipped level. Same output as `parent.child(bindings)`.
 */
import type { Logger } from 'pino';

/** What an instance session and its corroboration hooks log through: a pino logger or an InstanceLog. */
export interface InstanceLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class InstanceLog implements InstanceLogger {
  readonly #parent: Logger;
  readonly #bindings: Readonly<Record<string, unknown>>;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Readonly<Record<string, unknown>>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  debug(obj: object, msg: string): void {
    if (this.#parent.isLevelEnabled('debug')) this.#get().debug(obj, msg);
  }

  info(obj: object, msg: string): void {
    if (this.#parent.isLevelEnabled('info')) this.#get().info(obj, msg);
  }

  warn(obj: object, msg: string): void {
    if (this.#parent.isLevelEnabled('warn')) this.#get().warn(obj, msg);
  }

  error(obj: object, msg: string): void {
    if (this.#parent.isLevelEnabled('error')) this.#get().error(obj, msg);
  }

  /** The child, made now if need be; it follows the parent's level (SIGHUP sets the parent's). */
  #get(): Logger {
    const parent = this.#parent;
    const child = (this.#child ??= parent.child(this.#bindings));
    if (child.level !== parent.level) child.level = parent.level;
    return child;
  }
}
