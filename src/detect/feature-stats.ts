/**
 * Estimates the feature statistics ReAct and Mahalanobis read (src/compile/feature-stats.ts)
 * from the penultimate features of ID training frames, as the official code does:
 * - ReAct's τ: np.percentile(all activations, 90) (linear interpolation);
 * - Mahalanobis (sample_estimator): class means, and the pseudo-inverse (sklearn's pinvh,
 *   via a symmetric eigendecomposition) of the biased covariance of the class-centred
 *   features, i.e. EmpiricalCovariance(assume_centered=False).precision_.
 * Computed in float64; the graph receives float32.
 */
import type { FeatureStats } from '../compile/feature-stats.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export const REACT_PERCENTILE = 90;

export interface FeatureSample {
  /** Row-major [count, dim]. */
  readonly features: ArrayLike<number>;
  readonly count: number;
  readonly dim: number;
  /** The class of each row (the data set's labels). */
  readonly labels: ArrayLike<number>;
  readonly numClasses: number;
}

export function estimateFeatureStats(s: FeatureSample): FeatureStats {
  const { count: n, dim: d, numClasses: c } = s;
  if (s.features.length !== n * d || s.labels.length !== n) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `feature statistics: ${s.features.length} values and ${s.labels.length} labels do not make ${n} rows of ${d} features`);
  }
  const means = new Float64Array(c * d);
  const counts = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const y = s.labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new GaiaError(ErrorCodes.FEATURE_STATS, `feature statistics: frame ${i} has label ${y}, outside the model's ${c} classes`);
    }
    counts[y]!++;
    for (let k = 0; k < d; k++) means[y * d + k]! += s.features[i * d + k]!;
  }
  const empty = [...counts.keys()].filter((k) => counts[k] === 0);
  if (empty.length > 0) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `feature statistics: class(es) ${empty.join(', ')} have no training frames, so their Mahalanobis means are undefined; ` +
        'use a --stats-data set with frames of every class',
    );
  }
  for (let y = 0; y < c; y++) for (let k = 0; k < d; k++) means[y * d + k]! /= counts[y]!;

  const centred = new Float64Array(n * d);
  const overall = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const y = s.labels[i]!;
    for (let k = 0; k < d; k++) overall[k]! += centred[i * d + k] = s.features[i * d + k]! - means[y * d + k]!;
  }
  for (let k = 0; k < d; k++) overall[k]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = centred[i * d + k]! - overall[k]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b]! /= n;
      cov[b * d + a] = cov[a * d + b]!;
    }
  }
  return {
    reactThreshold: percentile(s.features, REACT_PERCENTILE),
    numClasses: c,
    dim: d,
    classMeans: Float32Array.from(means),
    precision: Float32Array.from(pinvSymmetric(cov, d)),
  };
}

/** numpy's default (linear) percentile of all values. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues (in no
 * particular order) and the eigenvectors as the columns of a row-major [d, d] matrix.
 */
export function symmetricEigen(matrix: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < d; p++) {
      diag += a[p * d + p]! ** 2;
      for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < d; k++) {
          // columns p, q of A
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = cs * akp - sn * akq;
          a[k * d + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < d; k++) {
          // rows p, q of A
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = cs * apk - sn * aqk;
          a[q * d + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = cs * vkp - sn * vkq;
          v[k * d + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]!), vectors: v };
}

/**
 * Moore–Penrose pseudo-inverse of a symmetric matrix, dropping eigenvalues ≤ d·eps·max|λ|
 * as scipy's pinvh and torch.linalg.pinv(hermitian=True): features that never vary (dead
 * ReLUs) make the covariance singular.
 */
export function pinvSymmetric(matrix: Float64Array, d: number): Float64Array {
  const { values: lambda, vectors: v } = symmetricEigen(matrix, d);
  const cutoff = d * Number.EPSILON * Math.max(...Array.from(lambda, Math.abs));
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    if (Math.abs(lambda[k]!) <= cutoff) continue;
    const inv = 1 / lambda[k]!;
    for (let i = 0; i < d; i++) {
      const vik = v[i * d + k]! * inv;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += vik * v[j * d + k]!;
    }
  }
  return out;
}
