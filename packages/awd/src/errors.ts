/** Stable error codes of awd (STYLE.md R11). Each one is documented in README.md (a test checks it). */
export const AwdErrorCode = {
  /** Command line or config file cannot be parsed (unknown option, bad value, bad syntax). */
  USAGE: 'AWD_ERR_USAGE',
  /** An advanced-watchdog object lacks a required property or has an invalid one. */
  OBJECT_INVALID: 'AWD_ERR_OBJECT_INVALID',
  /** A property that must be positive is 0 ("requires a positive value"). */
  NOT_POSITIVE: 'AWD_ERR_NOT_POSITIVE',
  /** A watchdog names a chardev id that was not declared ("Device '<id>' not found"). */
  CHARDEV_NOT_FOUND: 'AWD_ERR_CHARDEV_NOT_FOUND',
  /** A chardev is not a socket ("chardev "<id>" is not reconnectable"). */
  CHARDEV_NOT_SOCKET: 'AWD_ERR_CHARDEV_NOT_SOCKET',
  /** A chardev is used by two watchdogs, or twice by one ("Device '<id>' is in use"). */
  CHARDEV_IN_USE: 'AWD_ERR_CHARDEV_IN_USE',
  /** opt_script is missing, unreadable, empty or larger than max_script_bytes. */
  SCRIPT: 'AWD_ERR_SCRIPT',
  /** opt_script cannot be sent as QMP (unclosed or invalid JSON object); the message names the line. */
  SCRIPT_SYNTAX: 'AWD_ERR_SCRIPT_SYNTAX',
  /** A listening node could not bind its address. */
  LISTEN: 'AWD_ERR_LISTEN',
  /** A notification attempt failed (connect, closed, timeout or a command rejected). */
  NOTIFY: 'AWD_ERR_NOTIFY',
} as const;
export type AwdErrorCode = (typeof AwdErrorCode)[keyof typeof AwdErrorCode];

/** Codes that are configuration mistakes: bin.ts prints them and exits with code 2. */
export const CONFIG_ERROR_CODES: readonly AwdErrorCode[] = [
  AwdErrorCode.USAGE,
  AwdErrorCode.OBJECT_INVALID,
  AwdErrorCode.NOT_POSITIVE,
  AwdErrorCode.CHARDEV_NOT_FOUND,
  AwdErrorCode.CHARDEV_NOT_SOCKET,
  AwdErrorCode.CHARDEV_IN_USE,
  AwdErrorCode.SCRIPT,
  AwdErrorCode.SCRIPT_SYNTAX,
];

/** The one error class of awd; match on `code`, not on the message. */
export class AwdError extends Error {
  override readonly name = 'AwdError';
  readonly code: AwdErrorCode;
  constructor(code: AwdErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is an AwdError whose code is a configuration mistake (exit code 2). */
export function isConfigError(err: unknown): err is AwdError {
  return err instanceof AwdError && CONFIG_ERROR_CODES.includes(err.code);
}
