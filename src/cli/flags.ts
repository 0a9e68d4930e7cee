/** Numeric command-line flags, checked: a bad value is GAIA_BAD_CONFIG naming the flag and the value. */
import { ErrorCodes, GaiaError } from '../errors.js';

/** A whole number ≥ min (1 unless said), or the fallback when the flag is absent. */
export function wholeNumber(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} must be ${min === 1 ? 'a positive integer' : `a whole number ≥ ${min}`}, got "${value}"`);
  }
  return n;
}

/** A fraction in [0, 1], or the fallback when the flag is absent. */
export function fraction(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const f = Number(value);
  if (value.trim() === '' || !(f >= 0 && f <= 1)) throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} must be a fraction between 0 and 1, got "${value}"`);
  return f;
}
