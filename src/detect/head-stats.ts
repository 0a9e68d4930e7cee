/**
 * The statistics of ID training features the post-GAIA heads read (src/compile/feature-stats.ts),
 * estimated as their official code does:
 * - KNN: a bank of L2-normalised features, x / (‖x‖ + 1e-10), of at most `knnBank` frames
 *   drawn at random (seeded, so a recalibration on the same set draws the same frames; the
 *   paper's "α % sampling"), and the neighbour k;
 * - fDBD: the mean training feature;
 * - ViM: u = −pinv(W) b, the eigenvectors of the second-moment matrix of f − u
 *   (sklearn's EmpiricalCovariance(assume_centered=True)) beyond the `vimDim` largest
 *   eigenvalues, and α = mean max logit / mean ‖(f − u) NS‖ (logits W f + b).
 * Computed in float64; the graph receives float32.
 */
import type { FeatureStats, KnnBank, VimStats } from '../compile/feature-stats.js';
import type { FinalLayer } from '../compile/final-layer.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { pinvSymmetric, symmetricEigen } from './feature-stats.js';
import { mulberry32 } from './calibration.js';

/** Default bank rows: with k = rows / 1000 the paper's ratio (k = 50 of CIFAR-10's 50,000). */
export const DEFAULT_KNN_BANK = 4096;
/** The most bank values (rows × D) a calibration may carry: 64 MiB of float32, about 85 MiB in the file. */
export const MAX_KNN_BANK_VALUES = 16 * 1024 * 1024;
const BANK_SEED = 0x6b6e6e;

/** The paper's k scaled to the bank: one neighbour per thousand bank features, at least 1. */
export const defaultKnnK = (rows: number) => Math.max(1, Math.round(rows / 1000));

/** ViM's principal dimension: the official code's 1000 (D ≥ 2048) and 512 (D ≥ 768), else half of D (OpenOOD's CIFAR setting). */
export const defaultVimDim = (dim: number) => (dim >= 2048 ? 1000 : dim >= 768 ? 512 : Math.floor(dim / 2));

export interface HeadStatsSample {
  /** Row-major [count, dim]. */
  readonly features: ArrayLike<number>;
  readonly count: number;
  readonly dim: number;
  readonly finalLayer: FinalLayer;
}

export interface HeadStatsSettings {
  readonly knnBank?: number;
  readonly knnK?: number;
  readonly vimDim?: number;
  /**
   * The heads to estimate for (default all): knn's bank and vim's basis are kept only for
   * heads calibrate was asked for, so a calibration without them stays small (a ConfigMap
   * holds 1 MiB); fdbd's mean, D numbers, always.
   */
  readonly heads?: readonly string[];
}

export function estimateHeadStats(s: HeadStatsSample, settings: HeadStatsSettings = {}): Pick<FeatureStats, 'knn' | 'featureMean' | 'vim'> & { featureMean: Float32Array } {
  const { count: n, dim: d } = s;
  if (s.features.length !== n * d || s.finalLayer.dim !== d) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `head statistics: ${s.features.length} features and a ${s.finalLayer.numClasses}×${s.finalLayer.dim} final layer do not fit ${n} rows of ${d} features`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k]! += s.features[i * d + k]!;
  for (let k = 0; k < d; k++) mean[k]! /= n;
  const wanted = (head: string) => settings.heads === undefined || settings.heads.includes(head);
  return {
    featureMean: Float32Array.from(mean),
    ...(wanted('knn') ? { knn: knnBank(s, settings) } : {}),
    ...(wanted('vim') ? { vim: vimStats(s, settings.vimDim ?? defaultVimDim(d)) } : {}),
  };
}

function knnBank(s: HeadStatsSample, settings: HeadStatsSettings): KnnBank {
  const { count: n, dim: d } = s;
  const wanted = settings.knnBank ?? DEFAULT_KNN_BANK;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted * d > MAX_KNN_BANK_VALUES) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `--knn-bank ${wanted}: the bank holds whole frames, at least 1 and at most ${Math.floor(MAX_KNN_BANK_VALUES / d)} of these ${d}-wide features (${MAX_KNN_BANK_VALUES} values, 64 MiB of float32); choose a smaller bank`,
    );
  }
  const rows = Math.min(wanted, n);
  // A partial Fisher–Yates shuffle picks the rows; kept in the set's order.
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(BANK_SEED);
  for (let i = 0; i < rows && rows < n; i++) {
    const j = i + Math.floor(random() * (n - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const picked = order.subarray(0, rows).sort();
  const k = settings.knnK ?? defaultKnnK(rows);
  if (!Number.isInteger(k) || k < 1 || k > rows) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `--knn-k ${k}: choose a neighbour between 1 and the bank's ${rows} frames`);
  }
  const bank = new Float32Array(rows * d);
  picked.forEach((row, r) => {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += s.features[row * d + c]! ** 2;
    const scale = 1 / (Math.sqrt(sq) + 1e-10);
    for (let c = 0; c < d; c++) bank[r * d + c] = s.features[row * d + c]! * scale;
  });
  return { k, bank, rows };
}

/** u = −pinv(W) b through the smaller Gram matrix: pinv(W) = Wᵀ(WWᵀ)⁺ = (WᵀW)⁺Wᵀ. */
export function vimOrigin(layer: FinalLayer): Float64Array {
  const { weight: w, bias: b, numClasses: c, dim: d } = layer;
  const u = new Float64Array(d);
  if (c <= d) {
    const gram = new Float64Array(c * c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) for (let k = 0; k < d; k++) gram[i * c + j]! += w[i * d + k]! * w[j * d + k]!;
    const inv = pinvSymmetric(gram, c);
    const y = new Float64Array(c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) y[i]! += inv[i * c + j]! * b[j]!;
    for (let k = 0; k < d; k++) for (let i = 0; i < c; i++) u[k]! -= w[i * d + k]! * y[i]!;
  } else {
    const gram = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < c; k++) gram[i * d + j]! += w[k * d + i]! * w[k * d + j]!;
    const inv = pinvSymmetric(gram, d);
    const wtb = new Float64Array(d);
    for (let i = 0; i < d; i++) for (let k = 0; k < c; k++) wtb[i]! += w[k * d + i]! * b[k]!;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) u[i]! -= inv[i * d + j]! * wtb[j]!;
  }
  return u;
}

function vimStats(s: HeadStatsSample, principalDim: number): VimStats {
  const { count: n, dim: d } = s;
  const c = s.finalLayer.numClasses;
  if (!Number.isInteger(principalDim) || principalDim < 1 || principalDim >= d) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `--vim-dim ${principalDim}: the principal subspace must leave a residual, so choose 1 to ${d - 1} of the ${d} features`);
  }
  const u = vimOrigin(s.finalLayer);
  const moment = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = s.features[i * d + k]! - u[k]!;
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) moment[a * d + b]! += row[a]! * row[b]!;
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) moment[b * d + a] = moment[a * d + b]! /= n;
  const { values, vectors } = symmetricEigen(moment, d);
  const residual = Array.from(values.keys()).sort((x, y) => values[y]! - values[x]!).slice(principalDim);
  const r = residual.length;
  const basis = new Float64Array(d * r);
  for (let i = 0; i < d; i++) residual.forEach((col, j) => (basis[i * r + j] = vectors[i * d + col]!));
  let residualSum = 0;
  let maxLogitSum = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < r; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += (s.features[i * d + k]! - u[k]!) * basis[k * r + j]!;
      sq += dot * dot;
    }
    residualSum += Math.sqrt(sq);
    // The logits W f + b in float64, as the official code computes them from the features.
    let top = -Infinity;
    for (let k = 0; k < c; k++) {
      let logit = s.finalLayer.bias[k]!;
      for (let j = 0; j < d; j++) logit += s.finalLayer.weight[k * d + j]! * s.features[i * d + j]!;
      top = Math.max(top, logit);
    }
    maxLogitSum += top;
  }
  return { principalDim, origin: Float32Array.from(u), residualBasis: Float32Array.from(basis), alpha: maxLogitSum / residualSum };
}
