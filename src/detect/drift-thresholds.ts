/**
 * The thresholds a DriftMonitor's options imply (drift.ts), both derived from one expected
 * run time (src/detect/ert.ts): the flag count's critical count per window size, and the
 * p-value CUSUM's threshold h from its share of the ERT.
 */
import { criticalCount } from './binomial.js';
import { combinedRunTime, criticalCountForRunTime, CUSUM_QUANTUM, expectedFramesToFalseAlarmAt, upcrossingFramesToFalseAlarm } from './ert.js';
import { DEFAULT_EXPECTED_RUN_TIME, type DriftOptions } from './drift-options.js';
import { fullShiftLimit, PARTIAL_SHIFTS, partialShiftLimits, type LatticeLimit } from './partial-shifts.js';

/** The thresholds the options imply, and the false-alarm interval each gives. */
export interface DriftThresholds {
  /** Flagged verdicts in a full window that start an episode. */
  readonly criticalCount: number;
  /** Expected frames between false flag-count alarms at that count (upcrossing approximation). */
  readonly flagCountRunTime: number;
  /** CUSUM threshold h, in units of −ln p (undefined: the CUSUM is off). */
  readonly cusumThreshold?: number;
  /** Its exact in-control average run length, frames (for p-values of the calibration's law where its size is known, else Uniform). */
  readonly cusumRunTime?: number;
  /** The partial-shift CUSUMs' thresholds (log-likelihood-ratio units) and run lengths, where they are on. */
  readonly partialShiftThresholds?: readonly number[];
  readonly partialShiftRunTimes?: readonly number[];
  /** Both together: 1 / (1/flagCountRunTime + 1/cusumRunTime). */
  readonly expectedRunTime: number;
  /** Where the flag count's threshold comes from. */
  readonly flagCountFrom: 'expectedRunTime' | 'alpha';
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
  /** The partial-shift CUSUMs' thresholds (steps), none where they are off. */
  readonly partialSteps: readonly number[];
  private readonly cusumLimit: LatticeLimit | undefined;
  private readonly partialLimits: readonly LatticeLimit[];
  /** The configured ERT; the flag count's share of it (frames). */
  private readonly ert: number;
  private readonly flagRunTime: number;
  /** critical[n] = the flag count that starts an episode at n verdicts, computed on first use. */
  private readonly critical: number[] = [];
  private cached: DriftThresholds | undefined;

  constructor(private readonly options: DriftOptions) {
    this.ert = options.expectedRunTime ?? DEFAULT_EXPECTED_RUN_TIME;
    const cusum = options.pValueCusum ?? true;
    this.flagRunTime = cusum ? 2 * this.ert : this.ert;
    // The CUSUM part of the ERT, split evenly between the p-value CUSUM and the partial-shift CUSUMs.
    const share = cusum ? this.cusumShare() : Infinity;
    const parts = options.partialShifts && cusum ? 1 + PARTIAL_SHIFTS.length : 1;
    this.cusumTarget = share;
    this.cusumLimit = cusum ? fullShiftLimit(Math.round(share * parts), options.referenceSize) : undefined;
    this.cusumSteps = this.cusumLimit?.h ?? Infinity;
    this.partialLimits = parts > 1 ? partialShiftLimits(Math.round(share * parts), options.referenceSize) : [];
    this.partialSteps = this.partialLimits.map((l) => l.h);
  }

  /**
   * The CUSUM gets what the flag count leaves of the false-alarm rate: 1/ERT₂ = 1/ERT − 1/ERT₁,
   * ERT₁ the flag count's run time at its whole-number critical count (≥ 2·ERT, so ERT₂ is
   * between ERT and 2·ERT). With an explicit alpha the flag count is the operator's: the
   * CUSUM keeps 2·ERT.
   */
  private cusumShare(): number {
    const { window, p0, alpha } = this.options;
    const flag = alpha ? 2 * this.ert : expectedFramesToFalseAlarmAt(window, p0, this.criticalCount(window));
    return alpha || !(flag > this.ert) ? 2 * this.ert : Math.round(1 / (1 / this.ert - 1 / flag));
  }

  /** The flag count that starts an episode at n verdicts in the window. */
  criticalCount(n: number): number {
    const { p0, alpha } = this.options;
    this.critical[n] ??= alpha ? criticalCount(n, p0, alpha) : criticalCountForRunTime(n, p0, this.flagRunTime);
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
    const partial = this.partialLimits.length
      ? { partialShiftThresholds: this.partialLimits.map((l) => l.h * CUSUM_QUANTUM), partialShiftRunTimes: this.partialLimits.map((l) => l.runTime) }
      : {};
    return {
      criticalCount: k,
      flagCountRunTime,
      ...cusum,
      ...partial,
      expectedRunTime: combinedRunTime(flagCountRunTime, ...(cusum.cusumRunTime ? [cusum.cusumRunTime] : []), ...(partial.partialShiftRunTimes ?? [])),
      flagCountFrom: this.options.alpha ? 'alpha' : 'expectedRunTime',
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
