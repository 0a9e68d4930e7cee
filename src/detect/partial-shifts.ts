/**
 * The partial-shift p-value CUSUM of the drift monitor (docs/DEFINITIONS.md#drift-episodes),
 * the agent's default (drift.partialShifts). A camera whose stream is only partly shifted (a
 * share of its frames occluded, mis-exposed, from another scene) moves the mean of −ln p too
 * little for a CUSUM with the fixed reference value 2 ln 2 (src/detect/ert.ts), and flags too
 * few frames for the 500-frame count. This CUSUM adds instead each frame's log-likelihood
 * ratio of a partial shift against none: a share PARTIAL_SHIFT.share of the frames with
 * p-values of density a·p^(a−1), the rest in distribution. It needs no reference value (with
 * no shift its mean increment is minus a Kullback–Leibler divergence), it rises under a full
 * shift as well (by at most ln(1 − share + share·a·p_cap^(a−1)) a frame), and its threshold is
 * fitted on the lattice to the conformal p-values' own law (src/detect/cusum-lattice.ts).
 */
import { fullShiftSteps, latticeRunLength, latticeThreshold, nullIndexLaw, partialShiftSteps, type CusumSteps } from './cusum-lattice.js';
import { cusumAverageRunLength, cusumThresholdForRunTime } from './ert.js';

/**
 * The alternative: 30 % of the frames with p-values of density ½·p^(−½). Chosen on the
 * development suite's weak shifts (docs/RESULTS.md#drift-on-partly-shifted-streams): with
 * shares 0.1–0.5 and a 0.1–0.7 on a grid, 0.3 and ½ came within 0.8 of the best alternative
 * for each shift whose 20 % mixture flags 9–18 % of frames.
 */
export const PARTIAL_SHIFT = { share: 0.3, a: 0.5 } as const;

/** Reference size standing in for continuous Uniform(0, 1) p-values (no calibration size given). */
export const UNIFORM_REFERENCE = 1_000_000;

const partialSteps = partialShiftSteps(PARTIAL_SHIFT.share, PARTIAL_SHIFT.a);
const fullSteps = fullShiftSteps();
const laws = new Map<number, Float64Array>();
const fitted = new Map<string, LatticeLimit>();

/** −E[increment] with no shift, in lattice steps: how fast the partial-shift CUSUM falls once a shift ends (minus a Kullback–Leibler divergence). */
export function partialShiftFall(referenceSize = UNIFORM_REFERENCE): number {
  let law = laws.get(referenceSize);
  if (!law) laws.set(referenceSize, (law = nullIndexLaw(referenceSize)));
  let mean = 0;
  law.forEach((q, x) => (mean += q * partialSteps[x]!));
  return -mean;
}

/** One CUSUM's threshold and its exact in-control run length. */
export interface LatticeLimit {
  /** Threshold in lattice steps. */
  readonly h: number;
  readonly runTime: number;
}

/** The partial-shift CUSUM's increments per (capped) lattice index. */
export function partialShiftIncrements(): CusumSteps {
  return partialSteps;
}

/**
 * The partial-shift CUSUM's threshold for `ert` frames: the h whose run length is nearest
 * `ert` (on a log scale; one lattice step moves it by 5–10 %).
 */
export function partialShiftLimit(ert: number, referenceSize = UNIFORM_REFERENCE): LatticeLimit {
  return limit('partial', partialSteps, ert, referenceSize, true);
}

/**
 * The −ln p CUSUM's threshold for `ert` frames (drift.partialShifts off): fitted to the
 * conformal p-values' law when the reference size is known, else to Uniform(0, 1) (ert.ts).
 */
export function fullShiftLimit(ert: number, referenceSize?: number): LatticeLimit {
  if (referenceSize === undefined) {
    const h = cusumThresholdForRunTime(ert);
    return { h, runTime: cusumAverageRunLength(h) };
  }
  return limit('full', fullSteps, ert, referenceSize, false);
}

function limit(kind: string, steps: CusumSteps, ert: number, referenceSize: number, nearest: boolean): LatticeLimit {
  const key = `${kind}|${referenceSize}|${ert}`;
  let known = fitted.get(key);
  if (!known) {
    let law = laws.get(referenceSize);
    if (!law) laws.set(referenceSize, (law = nullIndexLaw(referenceSize)));
    let h = latticeThreshold(steps, law, ert);
    let runTime = latticeRunLength(steps, law, h);
    if (nearest && h > 1) {
      const below = latticeRunLength(steps, law, h - 1);
      if (Math.log(ert / below) < Math.log(runTime / ert)) [h, runTime] = [h - 1, below];
    }
    fitted.set(key, (known = { h, runTime }));
  }
  return known;
}
