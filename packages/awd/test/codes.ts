/** Error-code helpers for tests. */
export { AwdErrorCode } from '../src/errors.js';

export function hasAwdCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}
