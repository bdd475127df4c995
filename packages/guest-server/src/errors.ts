/** Stable error codes of guest-server (STYLE.md R11). Each one is documented in README.md ("Errors"). */
export const GuestServerErrorCode = {
  /** A request body or parameter failed validation. HTTP 400. */
  BAD_REQUEST: 'GS_ERR_BAD_REQUEST',
  /** A token is configured and the request carried none or a wrong one. HTTP 401. */
  UNAUTHORIZED: 'GS_ERR_UNAUTHORIZED',
  /** The instance uuid is not known to this server. HTTP 404. */
  INSTANCE_NOT_FOUND: 'GS_ERR_INSTANCE_NOT_FOUND',
  /** No such route. HTTP 404. */
  ROUTE_NOT_FOUND: 'GS_ERR_ROUTE_NOT_FOUND',
  /** The instance table is at `[client] max_instances`. HTTP 503. */
  TOO_MANY_INSTANCES: 'GS_ERR_TOO_MANY_INSTANCES',
  /** The server is closing and refuses new work. HTTP 503. */
  CLOSING: 'GS_ERR_CLOSING',
  /** An unexpected failure inside a request handler. HTTP 500. */
  INTERNAL: 'GS_ERR_INTERNAL',
  /** The agent answered POST /v1/events with a non-2xx status or an unreadable acknowledgement. */
  AGENT_REJECTED: 'GS_ERR_AGENT_REJECTED',
  /** The token file could not be read or is empty. */
  TOKEN_FILE: 'GS_ERR_TOKEN_FILE',
} as const;
export type GuestServerErrorCode = (typeof GuestServerErrorCode)[keyof typeof GuestServerErrorCode];

/** HTTP status of each code that a route can answer with. */
export const HTTP_STATUS_OF: Readonly<Partial<Record<GuestServerErrorCode, number>>> = {
  GS_ERR_BAD_REQUEST: 400,
  GS_ERR_UNAUTHORIZED: 401,
  GS_ERR_INSTANCE_NOT_FOUND: 404,
  GS_ERR_ROUTE_NOT_FOUND: 404,
  GS_ERR_TOO_MANY_INSTANCES: 503,
  GS_ERR_CLOSING: 503,
  GS_ERR_INTERNAL: 500,
};

/** The one error class of guest-server; match on `code`. */
export class GuestServerError extends Error {
  override readonly name = 'GuestServerError';
  readonly code: GuestServerErrorCode;
  constructor(code: GuestServerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
