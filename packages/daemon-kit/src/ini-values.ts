/** zod helpers for INI values, which arrive as strings: strict, never a silent default for a bad value. */
import { z } from 'zod';

/** An integer written in decimal, within [min, max]. */
export function iniInt(min: number, max: number): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^-?\d+$/, 'expected an integer')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`));
}

/** A boolean written as 0/1, true/false, yes/no, on/off, enabled/disabled. */
export function iniBool(): z.ZodType<boolean, string> {
  return z
    .string()
    .toLowerCase()
    .refine((v) => TRUE.has(v) || FALSE.has(v), 'expected a boolean (1/0, true/false, yes/no, on/off)')
    .transform((v) => TRUE.has(v));
}

const TRUE = new Set(['1', 'true', 'yes', 'on', 'enabled']);
const FALSE = new Set(['0', 'false', 'no', 'off', 'disabled']);

/** A non-empty string. */
export function iniString(): z.ZodString {
  return z.string().min(1, 'must not be empty');
}

/** An http(s) URL. */
export function iniUrl(): z.ZodType<string, string> {
  return z.string().refine((v) => {
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL');
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
