/**
 * The partial-shift p-value CUSUM of the drift monitor (docs/DEFINITIONS.md#drift-episodes),
 * the agent's default (drift.partialShifts). A camera whose stream is only partly shifted (a
 * share of its frames occluded, mis-exposed, from another scene) moves the mean of −ln p too
 * little for a CUSUM with the fixed reference value 2 ln 2 (src/detect/ert.ts), and flags too
 * few frames for the 500-frame count. This CUSUM adds instead each frame's log-likelihood
 * ratio of a partial shift against none: a share PARTIAL_SHIFT.share of the frames with
 * p-values of density a·p^(a−1) or flagged with p-values uniform below the flag rate, the rest
 * in distribution. It needs no reference value (with no shift its mean increment is minus a
 * Kullback–Leibler divergence), it rises under a full shift as well (by at most
 * ln(1 − share + share·g(p_cap)) a frame), and its threshold is fitted on the lattice to the
 * conformal p-values' own law (src/detect/cusum-lattice.ts). The increments depend on the
 * calibration's flag rate p0, so a new baseline brings new ones.
 */
import { fullShiftSteps, latticeRunLength, latticeThreshold, nullIndexLaw, partialShiftSteps, type CusumSteps } from './cusum-lattice.js';
import { cusumAverageRunLength, cusumThresholdForRunTime } from './ert.js';

/**
 * The alternative: 30 % of the frames shifted; of those, 70 % with p-values of density
 * ½·p^(−½) and 30 % flagged with p-values uniform below the flag rate (cusum-lattice.ts
 * PartialShift). Share and a were chosen on the development suite's weak shifts
 * (docs/RESULTS.md#drift-on-partly-shifted-streams): with shares 0.1–0.5 and a 0.1–0.7 on a
 * grid, 0.3 and ½ came within 0.8 of the best alternative for each shift whose 20 % mixture
 * flags 9–18 % of frames. The flagged part came later, for a shift the verdict rule flags
 * often but at moderate p-values (Gaussian noise s1: 75 % flagged, most at p 0.02–0.05), where
 * a 50-frame flag count had been faster; 0.2–0.5 were measured, 0.3 kept.
 */
export const PARTIAL_SHIFT = { share: 0.3, a: 0.5, flagged: 0.3 } as const;

/** Reference size standing in for continuous Uniform(0, 1) p-values (no calibration size given). */
export const UNIFORM_REFERENCE = 1_000_000;

const fullSteps = fullShiftSteps();
const laws = new Map<number, Float64Array>();
const partialSteps = new Map<number, CusumSteps>();
const fitted = new Map<string, LatticeLimit>();

function nullLaw(referenceSize: number): Float64Array {
  let law = laws.get(referenceSize);
  if (!law) laws.set(referenceSize, (law = nullIndexLaw(referenceSize)));
  return law;
}

/** The partial-shift CUSUM's increments per (capped) lattice index at flag rate p0. */
export function partialShiftIncrements(p0: number): CusumSteps {
  let steps = partialSteps.get(p0);
  if (!steps) partialSteps.set(p0, (steps = partialShiftSteps({ ...PARTIAL_SHIFT, p0 })));
  return steps;
}

/** −E[increment] with no shift, in lattice steps: how fast the partial-shift CUSUM falls once a shift ends (minus a Kullback–Leibler divergence). */
export function partialShiftFall(p0: number, referenceSize = UNIFORM_REFERENCE): number {
  const steps = partialShiftIncrements(p0);
  let mean = 0;
  nullLaw(referenceSize).forEach((q, x) => (mean += q * steps[x]!));
  return -mean;
}

/** One CUSUM's threshold and its exact in-control run length. */
export interface LatticeLimit {
  /** Threshold in lattice steps. */
  readonly h: number;
  readonly runTime: number;
}

/**
 * The partial-shift CUSUM's threshold for `ert` frames: the h whose run length is nearest
 * `ert` (on a log scale; one lattice step moves it by 5–10 %).
 */
export function partialShiftLimit(ert: number, p0: number, referenceSize = UNIFORM_REFERENCE): LatticeLimit {
  return limit(`partial|${p0}`, partialShiftIncrements(p0), ert, referenceSize, true);
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
    const law = nullLaw(referenceSize);
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
