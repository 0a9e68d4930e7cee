/** The GaiaError `fn` throws (the test fails if it throws nothing, or something else). */
import { expect } from 'vitest';
import { GaiaError } from '../../src/errors.js';

export function caught(fn: () => unknown): GaiaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GaiaError);
    return err as GaiaError;
  }
  throw new Error('expected an error');
}
