/** Stable error codes of guest-agent (STYLE.md R11). Each is documented in README.md (a test checks). */
export const GuestAgentErrorCode = {
  /** The request is not one of the VIM's calls (wrong User-Agent, no /v1/hosts/ or /v1/instances/ in the URI). */
  FORBIDDEN: 'GA_ERR_FORBIDDEN',
  /** A VIM request body is not JSON or lacks a required key (original "command parse error"). */
  PARSE: 'GA_ERR_PARSE',
  /** A VIM request names a host/instance the agent does not know (original "entity not found"). */
  NOT_FOUND: 'GA_ERR_NOT_FOUND',
  /** A VIM request carries a value the agent cannot use: unknown hostname, bad uuid, service ≠ heartbeat. */
  INVALID_DATA: 'GA_ERR_INVALID_DATA',
  /** I2 with a state other than enabled/disabled (original "bad state"). */
  BAD_STATE: 'GA_ERR_BAD_STATE',
  /** A method the original did not serve at this level (original "unsupported http command"). */
  UNSUPPORTED: 'GA_ERR_UNSUPPORTED',
  /** PUT/PATCH/POST-instance with an empty body (original 411 "no buffer"). */
  LENGTH_REQUIRED: 'GA_ERR_LENGTH_REQUIRED',
  /** HTTP method outside GET/POST/PUT/DELETE/PATCH (original libevent 501). */
  METHOD_NOT_IMPLEMENTED: 'GA_ERR_METHOD_NOT_IMPLEMENTED',
  /** The host or instance table is at its bound; nothing was added. */
  INVENTORY_FULL: 'GA_ERR_INVENTORY_FULL',
  /** Peer API: missing or wrong bearer token. */
  UNAUTHORIZED: 'GA_ERR_UNAUTHORIZED',
  /** Peer API: an event batch that fails the protocol schema. */
  BAD_EVENT_BATCH: 'GA_ERR_BAD_EVENT_BATCH',
  /** A guest-server answered a command with an unexpected status or body. */
  SERVER_STATUS: 'GA_ERR_SERVER_STATUS',
  /** The VIM answered an audit query with an unexpected status, no reply or a body that does not parse. */
  VIM_STATUS: 'GA_ERR_VIM_STATUS',
  /** An unexpected failure while serving a request (a bug): logged with the error, answered 500. */
  INTERNAL: 'GA_ERR_INTERNAL',
  /** Work submitted after close(). */
  CLOSED: 'GA_ERR_CLOSED',
} as const;
export type GuestAgentErrorCode = (typeof GuestAgentErrorCode)[keyof typeof GuestAgentErrorCode];

/** The one error class of guest-agent; match on `code`. `statusCode` is set for HTTP-facing errors. */
export class GuestAgentError extends Error {
  override readonly name = 'GuestAgentError';
  readonly code: GuestAgentErrorCode;
  readonly statusCode: number | undefined;
  constructor(code: GuestAgentErrorCode, message: string, options?: ErrorOptions & { statusCode?: number }) {
    super(message, options);
    this.code = code;
    this.statusCode = options?.statusCode;
  }
}
