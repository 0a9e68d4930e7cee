/**
 * How far a head's output is from its PyTorch reference, for the parity tests on the
 * committed fixtures (test/fixtures/parity): per-element relative error, or the error
 * relative to the reference's scale where values may sit at 0.
 */
import { expect } from 'vitest';

/** max over elements of |a − b| / |b|. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30));
  return worst;
}

/** max |a − b| / max |b|: for values that may sit at 0 (|a − b| itself when b is all 0). */
export function relToScale(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
