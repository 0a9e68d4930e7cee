/**
 * What the drift monitor says and keeps, as plain JSON: the data of drift-started and
 * drift-resolved events, and a source's window as the changelog topic stores it.
 */

export type DriftStatistic = 'flag-count' | 'p-value-cusum';

/** A drift episode starts or ends (docs/DEFINITIONS.md#drift-episodes). */
export interface DriftEvent {
  readonly type: 'drift-started' | 'drift-resolved';
  readonly source: string;
  /** Verdicts in the window, flagged among them, and their ratio. */
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
  readonly p0: number;
  /** P(X ≥ flagged | window, p0). */
  readonly pValue: number;
  /** For drift-started: the statistic that crossed its threshold (flag-count where both did). */
  readonly statistic?: DriftStatistic;
  /** The flag count that starts an episode at this window size. */
  readonly criticalCount: number;
  /** The p-value CUSUM (−ln p units) and its threshold h; absent with the CUSUM off. */
  readonly cusum?: number;
  readonly cusumThreshold?: number;
  /** Frame time of the verdict that triggered the event. */
  readonly ts: number;
  /** For drift-resolved: when the episode started. */
  readonly startedAt?: number;
}

/**
 * A source's window as plain JSON, for the changelog topic (its state survives restarts and
 * partition moves). The ring is base64 of one byte per verdict, oldest at `next`. v2 adds
 * the CUSUM; v4 marks it the partial-shift CUSUM; restore() still reads v1 (the CUSUM starts at 0).
 */
export interface DriftSnapshot {
  readonly v: 1 | 2 | 3 | 4;
  readonly source: string;
  readonly partition?: number;
  readonly ring: string;
  readonly next: number;
  readonly n: number;
  readonly k: number;
  readonly active: boolean;
  readonly startedAt: number;
  /** null: the rate is not below resolveRate (NaN does not survive JSON). */
  readonly belowSince: number | null;
  /**
   * v2: the p-value CUSUM, −ln p units (a multiple of the CUSUM quantum); in v4 the
   * partial-shift CUSUM (drift.partialShifts), log-likelihood-ratio units.
   */
  readonly cusum?: number;
  /**
   * v3: the input offset (on `partition`) of the last frame the window holds: a frame
   * redelivered after a restart (at or below it) is not counted twice.
   */
  readonly offset?: string;
  /** v3: the frame time of the last frame the window holds. */
  readonly lastTs?: number;
}

/** An open episode the drift monitor ended because its source sent nothing for a while. */
export interface SilentEpisode {
  readonly source: string;
  /** Frame time the episode started at, and of the source's last frame. */
  readonly startedAt: number;
  readonly lastFrameAt: number;
  /** The window as it was: verdicts, flagged among them, their ratio, and the baseline p0. */
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
  readonly p0: number;
}
