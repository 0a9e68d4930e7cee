/**
 * The thresholds a DriftMonitor's options imply (drift.ts), both derived from one expected
 * run time (src/detect/ert.ts): the flag count's critical count per window size, and the
 * p-value CUSUM's threshold h from its share of the ERT.
 */
import { criticalCount } from './binomial.js';
import { combinedRunTime, criticalCountForRunTime, CUSUM_QUANTUM, expectedFramesToFalseAlarmAt, upcrossingFramesToFalseAlarm } from './ert.js';
import { DEFAULT_EXPECTED_RUN_TIME, type DriftOptions } from './drift-options.js';
import { capIndex, type CusumSteps } from './cusum-lattice.js';
import { fullShiftLimit, partialShiftFall, partialShiftIncrements, partialShiftLimit, UNIFORM_REFERENCE, type LatticeLimit } from './partial-shifts.js';

/** The flag count's run time, in ERTs, beside the partial-shift CUSUM. */
export const FLAG_COUNT_SHARE_PARTIAL = 8;

/**
 * Standard errors of the calibration's flag rate the critical count allows for. p0 is measured
 * on n calibration frames, so a source's real ID flag rate differs from it by about
 * √(p0(1 − p0)/n) (0.31 points at n = 5000) plus any benign shift, and the count's run length
 * is steep in that rate (5.5 % instead of 5.0 % makes 43 of 500 three times as frequent). Fitted
 * to p0 + 2 standard errors, the count keeps its share of the ERT unless p0 was off by more.
 */
export const FLAG_RATE_MARGIN_SE = 2;

/**
 * The flag rate the critical count is fitted to: p0 plus FLAG_RATE_MARGIN_SE binomial standard
 * errors of the `calibrationFrames` it was measured on; p0 itself where their number is unknown.
 */
export function flagRateBound(p0: number, calibrationFrames?: number): number {
  if (calibrationFrames === undefined) return p0;
  return Math.min(p0 + FLAG_RATE_MARGIN_SE * Math.sqrt((p0 * (1 - p0)) / calibrationFrames), (1 + p0) / 2);
}

/** The thresholds the options imply, and the false-alarm interval each gives. */
export interface DriftThresholds {
  /** Flagged verdicts in a full window that start an episode. */
  readonly criticalCount: number;
  /** Expected frames between false flag-count alarms at that count (upcrossing approximation). */
  readonly flagCountRunTime: number;
  /** CUSUM threshold h, in units of −ln p, or of the log-likelihood ratio for the partial-shift CUSUM (undefined: the CUSUM is off). */
  readonly cusumThreshold?: number;
  /** Its exact in-control average run length, frames (for p-values of the calibration's law where its size is known, else Uniform). */
  readonly cusumRunTime?: number;
  /** 'partial-shift': the p-value CUSUM adds log-likelihood ratios of a partial shift (drift.partialShifts); absent: −ln p − 2 ln 2. */
  readonly cusumKind?: 'partial-shift';
  /** Both together: 1 / (1/flagCountRunTime + 1/cusumRunTime). */
  readonly expectedRunTime: number;
  /** Where the flag count's threshold comes from. */
  readonly flagCountFrom: 'expectedRunTime' | 'alpha';
  /** The flag rate the critical count is fitted to (flagRateBound): above p0 where the calibration's size is known. */
  readonly flagRateBound: number;
}

/**
 * The thresholds of one set of options (one baseline p0): a new baseline gets new limits.
 * Critical counts and the summary are computed on first use.
 */
export class DriftLimits {
  /** The CUSUM's share of the ERT it was built for, frames (Infinity: off). */
  readonly cusumTarget: number;
  /** The CUSUM's threshold h in lattice steps of CUSUM_QUANTUM (Infinity: off). */
  readonly cusumSteps: number;
  /**
   * The partial-shift CUSUM's increments per lattice index (src/detect/partial-shifts.ts),
   * undefined for the −ln p CUSUM with the fixed reference value.
   */
  readonly partialIncrements: CusumSteps | undefined;
  /**
   * While an episode is open the CUSUM is capped here (steps): 2h for the −ln p CUSUM, which
   * then falls back below h within about h / 0.39 frames of the shift's end; h plus what the
   * partial-shift CUSUM loses in one window of ID frames for that one, whose fall (−KL ≈ 0.07
   * a frame) is slow: it then falls below h within about a window, as the flag rate does.
   */
  readonly activeCap: number;
  /** The largest lattice index the CUSUM reads, where it is fitted to the calibration's p-values (src/detect/cusum-lattice.ts). */
  readonly capIndex: number;
  private readonly cusumLimit: LatticeLimit | undefined;
  /** The configured ERT; the flag count's share of it (frames). */
  private readonly ert: number;
  private readonly flagRunTime: number;
  /** The flag rate the critical count is fitted to (flagRateBound). */
  private readonly fittedRate: number;
  /** critical[n] = the flag count that starts an episode at n verdicts, computed on first use. */
  private readonly critical: number[] = [];
  private cached: DriftThresholds | undefined;

  constructor(private readonly options: DriftOptions) {
    this.ert = options.expectedRunTime ?? DEFAULT_EXPECTED_RUN_TIME;
    this.fittedRate = flagRateBound(options.p0, options.referenceSize);
    const cusum = options.pValueCusum ?? true;
    const partial = cusum && options.partialShifts === true;
    // Beside the partial-shift CUSUM the flag count is the slower statistic on every shift
    // measured (docs/RESULTS.md), and its run length the one least exactly known (a
    // birth–death approximation, and a p0 known to ±0.3 points from 5000 calibration frames
    // moves it by half): it gets an eighth of the false-alarm rate, not half.
    this.flagRunTime = !cusum ? this.ert : partial ? FLAG_COUNT_SHARE_PARTIAL * this.ert : 2 * this.ert;
    this.cusumTarget = cusum ? this.cusumShare() : Infinity;
    this.cusumLimit = !cusum ? undefined : partial ? partialShiftLimit(this.cusumTarget, options.p0, options.referenceSize) : fullShiftLimit(this.cusumTarget, options.referenceSize);
    this.cusumSteps = this.cusumLimit?.h ?? Infinity;
    this.partialIncrements = partial ? partialShiftIncrements(options.p0) : undefined;
    this.capIndex = capIndex(options.referenceSize ?? UNIFORM_REFERENCE);
    const fall = partial ? Math.ceil(options.window * partialShiftFall(options.p0, options.referenceSize)) : Infinity;
    this.activeCap = this.cusumSteps + Math.min(this.cusumSteps, fall);
  }

  /**
   * The CUSUM gets what the flag count leaves of the false-alarm rate: 1/ERT₂ = 1/ERT − 1/ERT₁,
   * ERT₁ the flag count's run time at its whole-number critical count (≥ 2·ERT, or ≥ 8·ERT
   * beside the partial-shift CUSUM), at p0 itself: the total is the ERT where the source flags
   * as the calibration did, and the count's margin (flagRateBound) only lengthens it. With an
   * explicit alpha the flag count is the operator's: the CUSUM keeps what its nominal share
   * would leave (2·ERT, or 8/7·ERT).
   */
  private cusumShare(): number {
    const { window, p0, alpha } = this.options;
    const flag = alpha ? this.flagRunTime : expectedFramesToFalseAlarmAt(window, p0, this.criticalCount(window));
    return alpha || !(flag > this.ert) ? this.flagRunTime / (this.flagRunTime / this.ert - 1) : Math.round(1 / (1 / this.ert - 1 / flag));
  }

  /** The flag count that starts an episode at n verdicts in the window. */
  criticalCount(n: number): number {
    const { p0, alpha } = this.options;
    this.critical[n] ??= alpha ? criticalCount(n, p0, alpha) : criticalCountForRunTime(n, this.fittedRate, this.flagRunTime);
    return this.critical[n];
  }

  /** The thresholds in force (computed once). */
  get thresholds(): DriftThresholds {
    this.cached ??= this.computeThresholds();
    return this.cached;
  }

  private computeThresholds(): DriftThresholds {
    const { window, p0 } = this.options;
    const k = this.criticalCount(window);
    const flagCountRunTime = this.options.alpha ? upcrossingFramesToFalseAlarm(window, p0, k) : expectedFramesToFalseAlarmAt(window, p0, k);
    const cusum = this.cusumLimit ? { cusumThreshold: this.cusumLimit.h * CUSUM_QUANTUM, cusumRunTime: this.cusumLimit.runTime } : {};
    return {
      criticalCount: k,
      flagCountRunTime,
      ...cusum,
      ...(this.partialIncrements ? { cusumKind: 'partial-shift' as const } : {}),
      expectedRunTime: combinedRunTime(flagCountRunTime, ...(cusum.cusumRunTime ? [cusum.cusumRunTime] : [])),
      flagCountFrom: this.options.alpha ? 'alpha' : 'expectedRunTime',
      flagRateBound: this.options.alpha ? p0 : this.fittedRate,
    };
  }
}

/**
 * Expected verdicts between false flag-count alarms on an in-distribution stream at this
 * window and alpha, from the upcrossing (declumping) approximation (upcrossingFramesToFalseAlarm).
 */
export function expectedFramesToFalseAlarm(window: number, p0: number, alpha: number): number {
  return upcrossingFramesToFalseAlarm(window, p0, criticalCount(window, p0, alpha));
}
