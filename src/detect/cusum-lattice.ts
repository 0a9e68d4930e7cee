/**
 * CUSUMs of the verdict p-values on a lattice, with run lengths fitted to the law the
 * p-values really have with no shift (docs/DEFINITIONS.md#drift-episodes).
 *
 * The verdict's p-value is conformal against the calibration's n reference statistics:
 * (1 + #{reference ≤ s}) / (n + 1). For an in-distribution frame (exchangeable with the
 * calibration frames) it is j / (n + 1) with j uniform on 1..n+1: its −ln p stops at
 * ln(n + 1), a thinner tail than Uniform(0, 1)'s Exp(1). A CUSUM threshold fitted to
 * Uniform then runs longer than configured; fitted to this law it runs as configured.
 *
 * Every statistic here reads a frame through one lattice index x = ⌊−ln p / δ⌋
 * (δ = CUSUM_QUANTUM) and adds a whole number of steps that depends on x only (a table), so
 * its in-control run length is the exact solution of a Markov chain on 0..h−1 (Brook and
 * Evans), whatever the increments.
 */
import { CUSUM_QUANTUM, CUSUM_REFERENCE_STEPS, firstOfSolution } from './ert.js';

/** Largest lattice index kept apart: −ln p beyond 64 (p < 1.6e-28) counts as 64. */
export const MAX_LATTICE_INDEX = Math.ceil(64 / CUSUM_QUANTUM);

/** The lattice index of a p-value (p ≤ 0 counts as the smallest). */
export function latticeIndex(pValue: number): number {
  const x = Math.floor(-Math.log(Math.max(pValue, Number.MIN_VALUE)) / CUSUM_QUANTUM);
  return x > MAX_LATTICE_INDEX ? MAX_LATTICE_INDEX : x;
}

/** Calibration statistics below the cap: the CUSUMs read −ln p only as far as this many of them resolve its law. */
export const STATISTICS_BELOW_CAP = 25;

/**
 * The largest lattice index the CUSUMs read for p-values against `referenceSize` calibration
 * statistics: p below 25 / (n + 1) counts as that p (5e-3 for n = 5000). Below it the law of
 * −ln p rests on fewer than 25 calibration frames, and a real stream's tail there (a different
 * camera day, the finite calibration itself) is not the one the thresholds would be fitted to;
 * capped, the run lengths hold, and a shift still adds the most per frame.
 */
export function capIndex(referenceSize: number): number {
  return Math.max(1, Math.min(MAX_LATTICE_INDEX, latticeIndex(Math.min(1, STATISTICS_BELOW_CAP / (referenceSize + 1)))));
}

/**
 * The law of the capped lattice index with no shift: P(x) for x = 0..MAX_LATTICE_INDEX, for
 * conformal p-values against `referenceSize` calibration statistics (j / (n + 1), j uniform).
 */
export function nullIndexLaw(referenceSize: number): Float64Array {
  if (!(Number.isInteger(referenceSize) && referenceSize >= 1)) throw new RangeError(`referenceSize must be a whole number ≥ 1, got ${referenceSize}`);
  const law = new Float64Array(MAX_LATTICE_INDEX + 1);
  const m = referenceSize + 1;
  const cap = capIndex(referenceSize);
  for (let j = 1; j <= m; j++) law[Math.min(cap, latticeIndex(j / m))]! += 1 / m;
  return law;
}

/**
 * A CUSUM's increments per lattice index: S ← max(0, S + steps[x]). `steps` has
 * MAX_LATTICE_INDEX + 1 entries, whole numbers.
 */
export type CusumSteps = Int32Array;

/** The agent's first CUSUM: ⌊−ln p / δ⌋ − 2 ln 2 / δ (src/detect/ert.ts). */
export function fullShiftSteps(): CusumSteps {
  return Int32Array.from({ length: MAX_LATTICE_INDEX + 1 }, (_, x) => x - CUSUM_REFERENCE_STEPS);
}

/**
 * A partial shift: a share `share` of the frames comes from a shift, the rest are in
 * distribution. The shift's p-values have density g(p) = (1 − flagged)·a·p^(a−1) + flagged·1[p ≤ p0]/p0:
 * part Beta(a, 1) (most mass near 0: a shift the heads see strongly), part uniform below the
 * flag rate p0 (a shift that is flagged but only moderately: its frames just past the
 * threshold, which a count of flags sees and a statistic of −ln p hardly does).
 */
export interface PartialShift {
  readonly share: number;
  readonly a: number;
  /** The share of the shift's frames that are flagged with uniform p-values below p0 (default 0). */
  readonly flagged?: number;
  /** The flag rate, the upper end of that uniform part (needed where flagged > 0). */
  readonly p0?: number;
}

/**
 * The log-likelihood ratio of a partial shift, in steps: ln(1 − share + share·g(p)), p taken
 * at the middle of its lattice cell (a cell is in the flagged band where its middle is at or
 * below p0). It needs no reference value: with no shift its mean is negative, the
 * Kullback–Leibler divergence.
 */
export function partialShiftSteps(shift: PartialShift): CusumSteps {
  const { share, a, flagged = 0, p0 = 1 } = shift;
  if (!(share > 0 && share <= 1 && a > 0 && a < 1 && flagged >= 0 && flagged <= 1 && (flagged === 0 || (p0 > 0 && p0 < 1)))) {
    throw new RangeError(`partial shift needs 0 < share ≤ 1, 0 < a < 1, 0 ≤ flagged ≤ 1 and 0 < p0 < 1 where flagged > 0; got ${JSON.stringify(shift)}`);
  }
  const band = -Math.log(p0);
  return Int32Array.from({ length: MAX_LATTICE_INDEX + 1 }, (_, x) => {
    const minusLnP = (x + 0.5) * CUSUM_QUANTUM;
    const g = (1 - flagged) * a * Math.exp((1 - a) * minusLnP) + (flagged > 0 && minusLnP >= band ? flagged / p0 : 0);
    return Math.round(Math.log(1 - share + share * g) / CUSUM_QUANTUM);
  });
}

/**
 * In-control average run length from S = 0 to S ≥ h of the CUSUM with these steps when the
 * lattice index has law `law`: (I − Q)·L = 1 on the states 0..h−1, Gaussian elimination.
 */
export function latticeRunLength(steps: CusumSteps, law: Float64Array, h: number): number {
  if (h < 1) return 1;
  // The increments' law: inc[d] with d = steps[x].
  const inc = new Map<number, number>();
  for (let x = 0; x < law.length; x++) if (law[x]! > 0) inc.set(steps[x]!, (inc.get(steps[x]!) ?? 0) + law[x]!);
  const n = h;
  const m = new Float64Array(n * (n + 1));
  const at = (i: number, j: number) => i * (n + 1) + j;
  for (let i = 0; i < n; i++) {
    for (const [d, q] of inc) {
      const to = Math.max(0, i + d);
      if (to < n) m[at(i, to)]! -= q;
    }
    m[at(i, i)]! += 1;
    m[at(i, n)] = 1;
  }
  return firstOfSolution(m, n);
}

/** The smallest threshold h (steps) whose in-control run length reaches `ert` frames. */
export function latticeThreshold(steps: CusumSteps, law: Float64Array, ert: number): number {
  let lo = 0;
  let hi = 16;
  while (latticeRunLength(steps, law, hi) < ert) {
    [lo, hi] = [hi, hi * 2];
    if (hi > 1 << 14) throw new RangeError(`no CUSUM threshold reaches an expected run time of ${ert} frames`);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (latticeRunLength(steps, law, mid) >= ert) hi = mid;
    else lo = mid;
  }
  return hi;
}
