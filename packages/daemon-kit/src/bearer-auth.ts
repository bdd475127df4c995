/**
 * Bearer-token check of the peer APIs (DESIGN.md §4a). The comparison takes the same time whatever the
 * given header holds, so a remote caller cannot learn the token byte by byte from response times.
 * Several tokens may be accepted at once (the current one and, during a rotation window, the previous one).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether `header` (an Authorization header value) is `Bearer <t>` for one of `tokens`. No token configured
 * (an empty list) means no authentication: true. The scheme name is case-insensitive (RFC 9110 §11.1).
 */
export function bearerMatches(header: string | undefined, tokens: readonly string[]): boolean {
  if (tokens.length === 0) return true;
  if (header === undefined) return false;
  const match = /^bearer[ \t]+(.*)$/is.exec(header);
  if (match === null) return false;
  // Compare fixed-length digests: timingSafeEqual needs equal lengths, and the length itself must not leak.
  const given = digest(match[1]?.trim() ?? '');
  let ok = false;
  for (const token of tokens) ok = timingSafeEqual(given, digest(token)) || ok;
  return ok;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
