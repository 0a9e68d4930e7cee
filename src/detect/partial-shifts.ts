/**
 * The partial-shift CUSUMs of the drift monitor (docs/DEFINITIONS.md#drift-episodes): a camera
 * whose stream is only partly shifted (a share of its frames occluded, mis-exposed, from
 * another scene) moves the mean of −ln p too little for the p-value CUSUM's fixed reference
 * value, and flags too few frames for the 500-frame count. Each CUSUM here is the
 * log-likelihood ratio of one such alternative (a share of the frames with p-values of
 * density a·p^(a−1)) against no shift, so it needs no reference value; a few alternatives run
 * in parallel and share the CUSUM part of the expected run time. Thresholds are fitted on the
 * lattice to the p-values' own law (src/detect/cusum-lattice.ts) and cached per ERT.
 */
import {
  fullShiftSteps,
  latticeRunLength,
  latticeThreshold,
  nullIndexLaw,
  partialShiftSteps,
  type CusumSteps,
} from './cusum-lattice.js';
import { CUSUM_QUANTUM, cusumAverageRunLength, cusumThresholdForRunTime } from './ert.js';

/** The alternatives: the share of shifted frames, and a in the shifted frames' density a·p^(a−1). */
export const PARTIAL_SHIFTS: ReadonlyArray<{ readonly share: number; readonly a: number }> = [
  { share: 0.3, a: 0.1 },
  { share: 0.1, a: 0.1 },
];

const steps: CusumSteps[] = PARTIAL_SHIFTS.map(({ share, a }) => partialShiftSteps(share, a));
const fullSteps = fullShiftSteps();
const laws = new Map<number, Float64Array>();
const fitted = new Map<string, LatticeLimit>();

function lawOf(referenceSize: number): Float64Array {
  let law = laws.get(referenceSize);
  if (!law) laws.set(referenceSize, (law = nullIndexLaw(referenceSize)));
  return law;
}

/** One CUSUM's threshold and its exact in-control run length. */
export interface LatticeLimit {
  /** Threshold in lattice steps. */
  readonly h: number;
  readonly runTime: number;
}

/**
 * The p-value CUSUM's threshold for `ert` frames: fitted to the conformal p-values' law
 * when the reference size is known, else to Uniform(0, 1) (src/detect/ert.ts).
 */
export function fullShiftLimit(ert: number, referenceSize?: number): LatticeLimit {
  if (referenceSize === undefined) {
    const h = cusumThresholdForRunTime(ert);
    return { h, runTime: cusumAverageRunLength(h) };
  }
  return limit('full', fullSteps, ert, referenceSize);
}

/** The partial-shift CUSUMs' thresholds, each for `ert` frames (Uniform(0, 1) approximated by a reference of 10⁶). */
export function partialShiftLimits(ert: number, referenceSize = 1_000_000): LatticeLimit[] {
  return steps.map((s, i) => limit(`partial${i}`, s, ert, referenceSize));
}

/** The partial-shift CUSUMs' increments per lattice index. */
export function partialShiftIncrements(): readonly CusumSteps[] {
  return steps;
}

function limit(kind: string, s: CusumSteps, ert: number, referenceSize: number): LatticeLimit {
  const key = `${kind}|${referenceSize}|${ert}`;
  let known = fitted.get(key);
  if (!known) {
    const law = lawOf(referenceSize);
    const h = latticeThreshold(s, law, ert);
    fitted.set(key, (known = { h, runTime: latticeRunLength(s, law, h) }));
  }
  return known;
}

/** A threshold in lattice steps as a log-likelihood ratio. */
export const inLogUnits = (h: number) => h * CUSUM_QUANTUM;
