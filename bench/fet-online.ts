/**
 * The peer drift detector of bench/drift-detection.ts: Alibi Detect's online Fisher exact test
 * (`FETDriftOnline`, alibi_detect/cd/fet_online.py, after Ross et al. 2012), reimplemented for
 * the bench on one binary stream (the verdict flags):
 *
 * - for each window size w, once w frames are in, the one-sided Fisher exact test of the
 *   window's flag count c against the reference's (x_ref: `sumRef` flags of `nRef` frames):
 *   p = hypergeom.cdf(sumRef, nRef + w, sumRef + c, nRef), the statistic 1 − p smoothed by
 *   an exponential moving average with weight `lam` (0.99) on the new value;
 * - drift when the largest statistic over the windows exceeds the threshold of time t (ties:
 *   drift with the simulated permit probability's complement, as Alibi);
 * - thresholds by simulation: `bootstraps` Bernoulli(sumRef / nRef) streams of t_max = 2·max(w) − 1
 *   frames; at each t from min(w) − 1 on, the (1 − 1/ERT) quantile (type 6, not interpolated)
 *   of the streams that have not yet crossed, those above then removed: a hazard of 1/ERT per
 *   frame after the smallest window is full. Past t_max the last threshold holds.
 *
 * The statistics are float32, as Alibi's. Differences from Alibi, none of which changes the test: the window counts are kept incrementally in ring buffers (Alibi keeps the whole
 * stream and sums the last w on every frame), and 1 − p is computed as the upper tail
 * directly (the same number without cancellation).
 */
import { logGamma } from '../src/detect/binomial.js';

export interface FetOptions {
  readonly nRef: number;
  readonly sumRef: number;
  readonly windows: readonly number[];
  readonly ert: number;
  readonly bootstraps: number;
  readonly lam?: number;
}

const logChoose = (n: number, k: number) => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);

/** 1 − hypergeom.cdf(sumRef, nRef + w, sumRef + c, nRef): P(X > sumRef), X the reference's share of the sumRef + c flags. */
export function fetStatistic(nRef: number, sumRef: number, w: number, c: number): number {
  const M = nRef + w;
  const K = sumRef + c;
  const lo = Math.max(sumRef + 1, nRef - (M - K));
  const hi = Math.min(K, nRef);
  if (lo > hi) return 0;
  const total = logChoose(M, nRef);
  let s = 0;
  for (let x = lo; x <= hi; x++) {
    const term = Math.exp(logChoose(K, x) + logChoose(M - K, nRef - x) - total);
    s += term;
    if (x > lo + 5 && term < s * 1e-17) break;
  }
  return Math.min(1, s);
}

/** The thresholds per t and the permit probabilities for ties, as Alibi's _configure_thresholds. */
export interface FetThresholds {
  readonly thresholds: Float64Array;
  readonly permit: Float64Array;
  /** stat[wi][c]: the unsmoothed statistic of window wi at count c. */
  readonly table: readonly Float64Array[];
}

export function configureFet(options: FetOptions, random: () => number): FetThresholds {
  const { nRef, sumRef, windows, ert, bootstraps } = options;
  const lam = options.lam ?? 0.99;
  const beta = 1 / ert;
  const tMax = 2 * Math.max(...windows) - 1;
  const minW = Math.min(...windows);
  const table = windows.map((w) => Float64Array.from({ length: w + 1 }, (_, c) => fetStatistic(nRef, sumRef, w, c)));
  const p = sumRef / nRef;
  // max over windows of the smoothed statistics, per stream and t (NaN before the smallest window is full).
  const maxStats = Array.from({ length: bootstraps }, () => new Float32Array(tMax).fill(Number.NaN));
  for (const stream of maxStats) {
    const x = new Uint8Array(tMax);
    for (let t = 0; t < tMax; t++) x[t] = random() < p ? 1 : 0;
    windows.forEach((w, wi) => {
      let c = 0;
      let ema = Number.NaN;
      for (let t = 0; t < tMax; t++) {
        c += x[t]!;
        if (t >= w) c -= x[t - w]!;
        if (t < w - 1) continue;
        const stat = table[wi]![c]!;
        ema = Math.fround(Number.isNaN(ema) ? stat : (1 - lam) * ema + lam * stat);
        if (!(stream[t]! >= ema)) stream[t] = ema;
      }
    });
  }
  const thresholds = new Float64Array(tMax).fill(Number.NaN);
  const permit = new Float64Array(tMax).fill(Number.NaN);
  let alive = maxStats;
  for (let t = minW - 1; t < tMax; t++) {
    const at = alive.map((s) => s[t]!).sort((a, b) => a - b);
    const N = at.length;
    // Alibi's quantile(type 6, interpolate=False): the ⌊(N + 1)(1 − β)⌋-th smallest.
    const h = Math.max(1, Math.min(N, Math.floor((N + 1) * (1 - beta))));
    const threshold = at[h - 1]!;
    const below = alive.filter((s) => s[t]! < threshold);
    const equal = alive.filter((s) => s[t]! === threshold);
    if (equal.length === 0) {
      permit[t] = Infinity;
      alive = below;
    } else {
      const permitProb = (1 - beta - below.length / N) / (equal.length / N);
      permit[t] = permitProb;
      let keep = 0;
      for (let i = 0; i < equal.length; i++) if (random() < permitProb) keep++;
      alive = below.concat(equal.slice(0, keep));
    }
    thresholds[t] = threshold;
    if (alive.length === 0) throw new Error(`FET configuration: no simulated stream left at t ${t}; give more --fet-bootstraps than the ERT`);
  }
  return { thresholds, permit, table };
}

/** One stream's online FET: push a flag, get whether drift is detected. */
export class FetDetector {
  private readonly rings: Uint8Array[];
  private readonly counts: number[];
  private readonly emas: number[];
  private t = 0;

  constructor(
    private readonly options: FetOptions,
    private readonly config: FetThresholds,
    private readonly random: () => number,
  ) {
    this.rings = options.windows.map((w) => new Uint8Array(w));
    this.counts = options.windows.map(() => 0);
    this.emas = options.windows.map(() => Number.NaN);
  }

  push(flag: boolean): boolean {
    const lam = this.options.lam ?? 0.99;
    const t = this.t++;
    let max = Number.NaN;
    this.options.windows.forEach((w, wi) => {
      const ring = this.rings[wi]!;
      const slot = t % w;
      this.counts[wi]! += (flag ? 1 : 0) - ring[slot]!;
      ring[slot] = flag ? 1 : 0;
      if (t < w - 1) return;
      const stat = this.config.table[wi]![this.counts[wi]!]!;
      const ema = Math.fround(Number.isNaN(this.emas[wi]!) ? stat : (1 - lam) * this.emas[wi]! + lam * stat);
      this.emas[wi] = ema;
      if (!(max >= ema)) max = ema;
    });
    if (Number.isNaN(max)) return false;
    const at = Math.min(t, this.config.thresholds.length - 1);
    const threshold = this.config.thresholds[at]!;
    if (max > threshold) return true;
    return max === threshold && this.random() > this.config.permit[at]!;
  }
}
