/**
 * Drift thresholds from an expected run time (ERT): the expected number of frames between
 * false drift-started events of one source with no shift (docs/DEFINITIONS.md#drift-episodes).
 * Two statistics share it: the flag count gets (at least) twice the ERT, the CUSUM the rest,
 * 1/ERT₂ = 1/ERT − 1/ERT₁ (between ERT and 2·ERT, as the whole-number critical count rounds
 * ERT₁ up), so their false-alarm rates add up to the configured one (the rate of the union
 * of two alarm processes is at most the sum of their rates, whatever their dependence).
 *
 * - the flag count in a sliding window (binomial scan): its critical count from the expected
 *   first-passage time of the window count's birth-death approximation
 *   (expectedFramesToFalseAlarmAt);
 * - a one-sided CUSUM on the verdicts' ID p-values, S ← max(0, S + q(−ln p) − k), whose
 *   threshold comes from its exact in-control average run length on a lattice
 *   (cusumAverageRunLength), not from a simulation.
 */
import { binomialUpperTail, logBinomialPmf } from './binomial.js';

/**
 * The upcrossing (declumping) approximation of the frames between false flag-count alarms
 * at k flags in a window of W: an alarm starts when the window count steps from k−1 to k,
 * which per verdict has probability P(K = k−1) · p0 · (1 − (k−1)/W) for K ~ Binomial(W, p0);
 * plus the W verdicts that fill a fresh window. It counts every upcrossing, also those of a
 * clump that the first one already alarmed on, so it underestimates the run time: by
 * 1.1× (W 50) to 2.3× (W 500) in test/detect/drift-ert.test.ts.
 */
export function upcrossingFramesToFalseAlarm(window: number, p0: number, k: number): number {
  if (k > window) return Infinity;
  const below = binomialUpperTail(k - 1, window, p0) - binomialUpperTail(k, window, p0);
  const upcrossing = below * p0 * (1 - (k - 1) / window);
  return upcrossing > 0 ? window + 1 / upcrossing : Infinity;
}

/**
 * Expected verdicts between false flag-count alarms on an in-distribution stream when the
 * episode starts at k flags in a window of W: the W verdicts that fill a fresh window, then
 * the expected first-passage time to k of the birth-death chain that has the window count's
 * stationary law (Binomial(W, p0)) and its one-step probabilities (up p0·(1 − c/W), the new
 * verdict flagged and the leaving one not; down (1 − p0)·c/W), started from that law below k.
 * For a birth-death chain the time to step from c to c+1 is exactly
 * P(K ≤ c) / (P(K = c) · up(c)). It counts first passages only, so clumps of upcrossings
 * count once; measured on the DriftMonitor it is within 3–16 % (test/detect/drift-ert.test.ts).
 */
export function expectedFramesToFalseAlarmAt(window: number, p0: number, k: number): number {
  if (k > window) return Infinity;
  if (k <= 0) return window;
  // ratio[c] = P(K ≤ c) / P(K = c), by recurrence (no underflow for any W).
  let ratio = 1;
  const logCum: number[] = [];
  const steps: number[] = [];
  for (let c = 0; c < k; c++) {
    if (c > 0) ratio = 1 + (ratio * c * (1 - p0)) / ((window - c + 1) * p0);
    logCum.push(logBinomialPmf(c, window, p0) + Math.log(ratio));
    steps.push(ratio / (p0 * (1 - c / window)));
  }
  // From the stationary law below k: step c is taken from every start at or below c.
  const top = logCum[k - 1]!;
  let frames = 0;
  for (let c = 0; c < k; c++) frames += steps[c]! * Math.exp(logCum[c]! - top);
  return window + frames;
}

/** The smallest flag count whose expected frames to a false alarm reach `ert` (window + 1: never). */
export function criticalCountForRunTime(window: number, p0: number, ert: number): number {
  let k = Math.max(1, Math.floor(window * p0) + 1);
  while (k <= window && expectedFramesToFalseAlarmAt(window, p0, k) < ert) k++;
  return k;
}

/**
 * The CUSUM's lattice: −ln p is rounded down to a multiple of CUSUM_QUANTUM, so the
 * statistic moves in whole steps and ties among conformal p-values (multiples of
 * 1/(n+1)) need no care. With p ~ Uniform(0,1), j = ⌊−ln p / δ⌋ is exactly geometric:
 * P(j ≥ m) = e^{−mδ}, which makes the Markov chain below exact, not an approximation.
 */
export const CUSUM_QUANTUM = Math.LN2 / 8;
/**
 * Reference value k = 2 ln 2, in steps (16): the log-likelihood ratio of a Beta(a, 1)
 * alternative (density a·p^(a−1)) against Uniform is ln a + (1 − a)(−ln p); for a = 1/2,
 * scaled by 2, it is −ln p − 2 ln 2.
 */
export const CUSUM_REFERENCE_STEPS = 16;

/** −ln p on the lattice, in steps (p ≤ 0 counts as the smallest representable p). */
export function cusumIncrement(pValue: number): number {
  return Math.floor(-Math.log(Math.max(pValue, Number.MIN_VALUE)) / CUSUM_QUANTUM);
}

/**
 * In-control average run length of the lattice CUSUM from S = 0 to S ≥ h steps, with
 * p ~ Uniform(0,1): the Markov chain on the states 0..h−1 (Brook and Evans), solved
 * exactly, (I − Q)·L = 1, by Gaussian elimination with partial pivoting. Conformal
 * p-values are super-uniform (P(p ≤ t) ≤ t), so −ln p is stochastically smaller than
 * Exp(1) and the real run length is at least this.
 */
export function cusumAverageRunLength(h: number): number {
  if (h < 1) return 1;
  const K = CUSUM_REFERENCE_STEPS;
  const r = Math.exp(-CUSUM_QUANTUM);
  const n = h;
  // Row-major (I − Q) augmented with the right-hand side 1.
  const m = new Float64Array(n * (n + 1));
  const at = (i: number, j: number) => i * (n + 1) + j;
  for (let i = 0; i < n; i++) {
    // To 0: j ≤ K − i.
    if (i <= K) m[at(i, 0)]! -= 1 - r ** (K - i + 1);
    for (let s = Math.max(1, i - K); s < n; s++) m[at(i, s)]! -= (1 - r) * r ** (s - i + K);
    m[at(i, i)]! += 1;
    m[at(i, n)] = 1;
  }
  return firstOfSolution(m, n);
}

const thresholds = new Map<number, number>();

/** The smallest CUSUM threshold (steps) whose in-control average run length reaches `ert` frames. */
export function cusumThresholdForRunTime(ert: number): number {
  const known = thresholds.get(ert);
  if (known !== undefined) return known;
  // ARL grows like e^{h·δ/2} (the root θ = 1/2 of E[e^{θ(X − k)}] = 1): bracket, then bisect.
  let lo = 0;
  let hi = Math.max(2, Math.ceil((2 * Math.log(ert)) / CUSUM_QUANTUM));
  while (cusumAverageRunLength(hi) < ert) [lo, hi] = [hi, hi * 2];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (cusumAverageRunLength(mid) >= ert) hi = mid;
    else lo = mid;
  }
  thresholds.set(ert, hi);
  return hi;
}

/** The combined expected run time of two alarm processes with these: 1/ERT = 1/ERT₁ + 1/ERT₂. */
export function combinedRunTime(...runTimes: number[]): number {
  const rate = runTimes.reduce((s, t) => s + 1 / t, 0);
  return rate > 0 ? 1 / rate : Infinity;
}

/**
 * x[0] of the linear system M x = y given as the augmented n × (n + 1) matrix `m` (row-major;
 * overwritten): Gaussian elimination with partial pivoting and back substitution. The
 * run-length equations of a Markov chain started at state 0, for both CUSUMs.
 */
export function firstOfSolution(m: Float64Array, n: number): number {
  const at = (i: number, j: number) => i * (n + 1) + j;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(m[at(i, c)]!) > Math.abs(m[at(p, c)]!)) p = i;
    if (p !== c) for (let j = c; j <= n; j++) [m[at(c, j)], m[at(p, j)]] = [m[at(p, j)]!, m[at(c, j)]!];
    const d = m[at(c, c)]!;
    for (let i = c + 1; i < n; i++) {
      const f = m[at(i, c)]! / d;
      if (f === 0) continue;
      for (let j = c; j <= n; j++) m[at(i, j)]! -= f * m[at(c, j)]!;
    }
  }
  const L = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[at(i, n)]!;
    for (let j = i + 1; j < n; j++) s -= m[at(i, j)]! * L[j]!;
    L[i] = s / m[at(i, i)]!;
  }
  return L[0]!;
}
