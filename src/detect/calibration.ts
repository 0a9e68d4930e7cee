/**
 * Calibration of a score head on in-distribution frames (docs/DEFINITIONS.md): the TPR-95
 * threshold, the flag rate it implies (p0, the expected rate under no shift), a bootstrap
 * interval of the threshold, quantiles and a histogram. Pure: scores in, numbers out.
 */
import { thresholdAtTpr95 } from './metrics.js';
import { encodeFloats } from './verdict-rule.js';

/**
 * Orientation of each head: ID-score = sign · raw, higher = more in-distribution.
 * GAIA-Z, GAIA-A (and its variants) and the Mahalanobis distance grow with abnormality; MSP,
 * energy, ODIN, ReAct, GradNorm and RankFeat grow with confidence.
 */
export const ID_SCORE_SIGN: Readonly<Record<string, 1 | -1>> = {
  gaia_z: -1,
  gaia_a: -1,
  msp: 1,
  energy: 1,
  odin: 1,
  react: 1,
  gradnorm: 1,
  rankfeat: 1,
  // the minimum Mahalanobis distance to a class mean
  mahalanobis: -1,
  // GAIA-A's Table 3 variants all grow with abnormality, as GAIA-A
  gaia_a_q1: -1,
  gaia_a_q2: -1,
  gaia_a_inner: -1,
  gaia_a_output: -1,
  gaia_a_direct: -1,
  gaia_a_top1: -1,
  // the post-GAIA heads: each is oriented as its paper's score, higher = more in-distribution
  knn: 1,
  fdbd: 1,
  vim: 1,
  gen: 1,
  scale: 1,
  // the tapped layers' standardised distance to their ID channel means
  layer_mahalanobis: -1,
  // the verdict rule's combined statistic (eval's `verdict` method): higher = more in-distribution
  verdict: 1,
};

export interface HeadCalibration {
  /** ID-score = sign · raw. */
  readonly sign: 1 | -1;
  /** TPR-95 threshold on the ID-score: a frame is flagged when its ID-score ≤ threshold. */
  readonly threshold: number;
  /** The same threshold on the head's raw output (flag when raw ≥ it for sign −1, ≤ it for +1). */
  readonly rawThreshold: number;
  /** Fraction of calibration frames flagged at the threshold: the baseline rate p0. */
  readonly flagRate: number;
  /** 95% bootstrap interval of rawThreshold. */
  readonly rawThresholdInterval95: readonly [number, number];
  /** Raw-score quantiles, keyed "q01", "q05", ..., "q99". */
  readonly quantiles: Readonly<Record<string, number>>;
  /** Raw-score histogram: counts[i] frames in [edges[i], edges[i+1]). */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  /**
   * Every calibration frame's ID-score, sorted ascending (float32, base64): the reference
   * distribution of the head's ID p-values and of the verdict rule. Absent in calibrations
   * written before gaia-sentinel 0.2.
   */
  readonly reference?: string;
}

export interface CalibrateOptions {
  readonly bootstrapSamples: number;
  readonly seed: number;
  readonly histogramBins: number;
}

export const DEFAULT_CALIBRATE_OPTIONS: CalibrateOptions = { bootstrapSamples: 1000, seed: 1, histogramBins: 40 };

const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

export function calibrateHead(raw: ArrayLike<number>, sign: 1 | -1, options: CalibrateOptions = DEFAULT_CALIBRATE_OPTIONS): HeadCalibration {
  const n = raw.length;
  const s = Float64Array.from(raw, (v) => sign * v);
  const threshold = thresholdAtTpr95(s);
  let flagged = 0;
  for (const v of s) if (v <= threshold) flagged++;

  // Bootstrap: resample the calibration frames with replacement (seeded), recompute t.
  const random = mulberry32(options.seed);
  const resampled = new Float64Array(n);
  const ts: number[] = [];
  for (let b = 0; b < options.bootstrapSamples; b++) {
    for (let i = 0; i < n; i++) resampled[i] = s[Math.floor(random() * n)]!;
    ts.push(sign * thresholdAtTpr95(resampled));
  }
  ts.sort((a, b) => a - b);
  const interval: [number, number] = [quantileSorted(ts, 0.025), quantileSorted(ts, 0.975)];

  const sortedRaw = Float64Array.from(raw).sort();
  const quantiles = Object.fromEntries(QUANTILES.map((q) => [`q${String(Math.round(q * 100)).padStart(2, '0')}`, quantileSorted(sortedRaw, q)]));
  return {
    sign,
    threshold,
    rawThreshold: sign * threshold,
    flagRate: flagged / n,
    rawThresholdInterval95: interval,
    quantiles,
    histogram: histogram(sortedRaw, options.histogramBins),
    reference: encodeFloats(Float64Array.from(s).sort(), 'f32'),
  };
}

/** Relative spread of the central 90% below which a head is taken as constant on its calibration set. */
export const NEAR_CONSTANT_SPREAD = 1e-6;

/**
 * Whether a head gave (nearly) one raw score to the central 90% of its calibration frames
 * (q05 to q95 within NEAR_CONSTANT_SPREAD of the median): it cannot rank them, and its
 * TPR-95 threshold falls in the tie, so it flags far more than 5% (p0 up to 100%). The
 * known case is GAIA-Z on a network whose taps reach the logits through smooth activations
 * only (SiLU, GELU: every gradient entry non-zero, every zero ratio 1).
 */
export function isNearConstant(head: Pick<HeadCalibration, 'quantiles'>): boolean {
  const { q05, q50, q95 } = head.quantiles;
  if (q05 === undefined || q50 === undefined || q95 === undefined) return false;
  return q95 - q05 <= NEAR_CONSTANT_SPREAD * Math.max(Math.abs(q50), Number.MIN_VALUE);
}

/** Whether a raw head output is flagged as out-of-distribution by a calibration. */
export function isFlagged(raw: number, head: Pick<HeadCalibration, 'sign' | 'threshold'>): boolean {
  return head.sign * raw <= head.threshold;
}

function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  // Linear interpolation between order statistics (numpy's default).
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function histogram(sorted: ArrayLike<number>, bins: number): { edges: number[]; counts: number[] } {
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < sorted.length; i++) counts[Math.min(bins - 1, Math.floor((sorted[i]! - lo) / width))]!++;
  return { edges, counts };
}

/** A small seeded PRNG (mulberry32), so calibrations are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
