/** guestctl's exit codes and its one error class (STYLE.md R11): the code is the process exit code. */
export const ExitCode = {
  OK: 0,
  /** The agent answered with an error, or could not be reached. */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** No such instance (show, vote, notify). */
  NOT_FOUND: 3,
  /** The agent refused the token (or none was given and it needs one). */
  UNAUTHORIZED: 4,
  /** vote/notify: the agent's VIM port refused the call (400/404/… with the VIM's error text). */
  REFUSED: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class GuestctlError extends Error {
  override readonly name = 'GuestctlError';
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}
