/** The nack texts of the original server, word for word (daemons §1.5). */

/** `failed to parse <key>`: a required key is missing or has the wrong type. */
export function nackFailedToParse(key: string): string {
  return `failed to parse ${key}`;
}

/** `Bad version: <v>, expect version: 3`. */
export function nackBadVersion(version: number): string {
  return `Bad version: ${version}, expect version: 3`;
}

/** `unsupported message type: <msg_type>`. */
export function nackUnsupportedType(msgType: string): string {
  return `unsupported message type: ${msgType}`;
}

/** `Invocation id mismatch. Received: <r> expect: <e>`. [NACK-6] */
export function nackInvocationMismatch(received: number, expected: number): string {
  return `Invocation id mismatch. Received: ${received} expect: ${expected}`;
}
