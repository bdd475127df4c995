/** Stable error codes of the protocol package (STYLE.md R11). Each is documented in README.md. */
export const ProtocolErrorCode = {
  /** A line is not JSON. */
  BAD_JSON: 'PROTO_ERR_BAD_JSON',
  /** A line is JSON but not an object, or lacks/mistypes a required key. */
  BAD_FIELD: 'PROTO_ERR_BAD_FIELD',
  /** version below 3. */
  BAD_VERSION: 'PROTO_ERR_BAD_VERSION',
  /** msg_type not accepted in this direction. */
  UNSUPPORTED_TYPE: 'PROTO_ERR_UNSUPPORTED_TYPE',
  /** A line longer than MAX_MESSAGE_BYTES was discarded. */
  LINE_TOO_LONG: 'PROTO_ERR_LINE_TOO_LONG',
  /** An outgoing message would exceed MAX_MESSAGE_BYTES even after truncating free text. */
  MESSAGE_TOO_LARGE: 'PROTO_ERR_MESSAGE_TOO_LARGE',
  /** An action_response names another invocation than the one outstanding. */
  INVOCATION_MISMATCH: 'PROTO_ERR_INVOCATION_MISMATCH',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** The one error class of the protocol package; match on `code`, not on the message. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Matches on code, not instanceof: works across package copies and after serialization. */
export function hasErrorCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}
