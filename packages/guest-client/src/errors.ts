/** Stable error codes of guest-client (STYLE.md R11). Each one is documented in README.md (a test checks). */
export const GuestClientErrorCode = {
  /** guest_heartbeat.conf or the command line is wrong; exit code 2. */
  CONFIG_INVALID: 'GC_ERR_CONFIG_INVALID',
  /** The configuration file does not exist or cannot be read; exit code 2. */
  CONFIG_MISSING: 'GC_ERR_CONFIG_MISSING',
  /** The channel device path does not exist: "guest heartbeat not configured"; exit code 6 (client §2). */
  DEVICE_MISSING: 'GC_ERR_DEVICE_MISSING',
  /** The channel path exists but could not be opened or connected. */
  CHANNEL_FAILED: 'GC_ERR_CHANNEL_FAILED',
  /** A script is not an executable, non-empty file, so it was not run (client §7.4, §9). */
  SCRIPT_NOT_RUNNABLE: 'GC_ERR_SCRIPT_NOT_RUNNABLE',
  /** The application API socket (client §8) could not be set up: stale path not removable, or bind/listen failed. */
  APP_API_FAILED: 'GC_ERR_APP_API_FAILED',
  /** A simulated guest was used after close(), or started twice. */
  SIMULATOR_CLOSED: 'GC_ERR_SIMULATOR_CLOSED',
} as const;
export type GuestClientErrorCode = (typeof GuestClientErrorCode)[keyof typeof GuestClientErrorCode];

/** The one error class of guest-client; match on `code`. */
export class GuestClientError extends Error {
  override readonly name = 'GuestClientError';
  readonly code: GuestClientErrorCode;
  constructor(code: GuestClientErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Exit status when the channel device is missing: systemd's RestartPreventExitStatus=6 (client §2, §12). */
export const DEVICE_MISSING_EXIT_CODE = 6;
