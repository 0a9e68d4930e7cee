/**
 * What a DriftMonitor (drift.ts) is configured with and fed: its options, their bounds, and
 * the part of a verdict it reads.
 */

/** One healthy camera at 30 fps raises a false episode about once a week: 30 · 7 · 86 400 frames. */
export const DEFAULT_EXPECTED_RUN_TIME = 18_144_000;
/** Largest ERT accepted (10^12 frames: 1000 years at 30 fps). */
export const MAX_EXPECTED_RUN_TIME = 1e12;

/** What observe() needs of a verdict. */
export interface DriftVerdict {
  readonly flagged: boolean;
  /** The verdict's ID p-value against the calibration frames (absent: it feeds only the flag count). */
  readonly pValue?: number;
}

export interface DriftOptions {
  /** Verdicts in the sliding window. */
  readonly window: number;
  /**
   * Expected frames between false drift-started events of one source with no shift, both
   * statistics together (default DEFAULT_EXPECTED_RUN_TIME).
   */
  readonly expectedRunTime?: number;
  /**
   * An explicit significance for the flag-count test instead of its share of the ERT
   * (undefined or 0: derived from expectedRunTime). The CUSUM keeps its share.
   */
  readonly alpha?: number;
  /** The p-value CUSUM (default true); off, the flag count gets the whole ERT. */
  readonly pValueCusum?: boolean;
  /**
   * The number of calibration statistics the verdict p-values rank against (the verdict
   * rule's reference): the CUSUM thresholds are then fitted to the law those p-values have
   * with no shift (j / (n + 1), j uniform) instead of Uniform(0, 1), whose thinner tail
   * would make the false-alarm interval longer than configured (src/detect/cusum-lattice.ts).
   */
  readonly referenceSize?: number;
  /**
   * Partial-shift CUSUMs beside the p-value CUSUM (default false; the agent's drift.partialShifts
   * turns them on): likelihood-ratio CUSUMs for a stream where only a share of the frames comes
   * from a shift (PARTIAL_SHIFTS), sharing the CUSUM's part of the ERT.
   */
  readonly partialShifts?: boolean;
  /** Expected flag rate with no shift (the calibration's flagRate). */
  readonly p0: number;
  /** No test before the window holds this many verdicts (default: a full window). */
  readonly minFrames?: number;
  /** An episode may end once the windowed rate is at or below this (default: 2·p0). */
  readonly resolveRate?: number;
  /** ...continuously for this long, in frame-time milliseconds. */
  readonly resolveAfterMs: number;
  /**
   * forgetIdle() drops the window of a source with no verdict for this long (wall-clock ms)
   * and no open episode, so memory stays bounded when source ids come and go (default: never).
   */
  readonly idleForgetMs?: number;
}

/** Throws a RangeError for options no monitor can run with. */
export function assertDriftOptions(options: DriftOptions): void {
  const ert = options.expectedRunTime ?? DEFAULT_EXPECTED_RUN_TIME;
  const alpha = options.alpha ?? 0;
  if (
    !(options.window >= 1) ||
    !(alpha === 0 || (alpha > 0 && alpha < 1)) ||
    !(options.p0 > 0 && options.p0 < 1) ||
    !(ert >= 2 * options.window && ert <= MAX_EXPECTED_RUN_TIME) ||
    !(options.referenceSize === undefined || (Number.isInteger(options.referenceSize) && options.referenceSize >= 1))
  ) {
    throw new RangeError(
      `drift options need window ≥ 1, alpha 0 (derived) or in (0, 1), 0 < p0 < 1, 2·window ≤ expectedRunTime ≤ ${MAX_EXPECTED_RUN_TIME}, referenceSize a whole number ≥ 1 where given; got ${JSON.stringify(options)}`,
    );
  }
}
