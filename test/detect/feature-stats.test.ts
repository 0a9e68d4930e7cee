/**
 * The pseudo-inverse behind Mahalanobis' precision matrix on the case real networks produce
 * and the parity fixtures do not: a singular covariance (a ReLU unit that never fires, a
 * unit that copies another). It must satisfy the Moore–Penrose conditions, as scipy's pinvh.
 */
import { describe, expect, it } from 'vitest';
import { estimateFeatureStats, percentile, pinvSymmetric } from '../../src/detect/feature-stats.js';
import { ErrorCodes } from '../../src/errors.js';

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) out[i * d + j]! += a[i * d + k]! * b[k * d + j]!;
  return out;
}

const maxAbsDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('pinvSymmetric', () => {
  it('meets the Moore–Penrose conditions on a rank-deficient covariance', () => {
    // 6 features over 40 seeded rows: feature 2 is dead (always 0), feature 5 copies feature 1.
    const d = 6;
    const n = 40;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
    const x = Array.from({ length: n }, () => {
      const r = [rand(), rand(), 0, rand(), rand()];
      return [...r, r[1]!];
    });
    const cov = new Float64Array(d * d);
    for (const r of x) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j]! += (r[i]! * r[j]!) / n;
    const p = pinvSymmetric(cov, d);
    expect(maxAbsDiff(matmul(matmul(cov, p, d), cov, d), cov)).toBeLessThan(1e-12);
    expect(maxAbsDiff(matmul(matmul(p, cov, d), p, d), p)).toBeLessThan(1e-9 * Math.max(...p.map(Math.abs)));
    const transposed = Float64Array.from({ length: d * d }, (_, k) => p[(k % d) * d + Math.floor(k / d)]!);
    expect(maxAbsDiff(p, transposed)).toBeLessThan(1e-12);
    // the dead feature gets no weight at all
    for (let j = 0; j < d; j++) expect(Math.abs(p[2 * d + j]!)).toBeLessThan(1e-12);
  });
});

describe('estimateFeatureStats', () => {
  it('refuses a class without training frames, naming it', () => {
    expect(() => estimateFeatureStats({ features: [1, 2, 3, 4], count: 2, dim: 2, labels: [0, 0], numClasses: 2 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining('class(es) 1') }),
    );
  });

  it("takes ReAct's τ as numpy's linear percentile", () => {
    expect(percentile([4, 1, 3, 2, 5], 90)).toBeCloseTo(4.6, 12);
  });
});
