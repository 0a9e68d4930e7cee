/**
 * Drift episodes per source (docs/DEFINITIONS.md#drift-episodes). Each source keeps a sliding window of its
 * last `window` verdicts and a CUSUM of its verdicts' ID p-values. An episode starts when
 * either statistic crosses its threshold, both derived from one expected run time (ERT:
 * frames between false drift-started events with no shift, src/detect/ert.ts):
 *
 * - flag-count: the number of flagged frames k in the window reaches the critical count
 *   whose expected frames to a false alarm is 2·ERT (or, with an explicit alpha, the first
 *   k with P(X ≥ k | n, p0) < alpha);
 * - p-value-cusum: S ← max(0, S + ⌊−ln p⌋ − 2 ln 2) on a lattice reaches h, whose exact
 *   in-control average run length is 2·ERT. Verdicts without a p-value feed only the flag count.
 *
 * An episode ends with hysteresis: once the windowed rate has stayed at or below
 * `resolveRate` and the CUSUM below h (capped at 2h while the episode is open) for
 * `resolveAfterMs` of frame time; the CUSUM then restarts at 0. Pure: verdicts in, events out.
 */
import type { DriftEvent, DriftSnapshot, SilentEpisode } from '../contracts/drift.js';
import { binomialUpperTail } from './binomial.js';
import { latticeIndex } from './cusum-lattice.js';
import { CUSUM_QUANTUM, CUSUM_REFERENCE_STEPS, cusumIncrement } from './ert.js';
import { assertDriftOptions, type DriftOptions, type DriftVerdict } from './drift-options.js';
import { DriftLimits, type DriftThresholds } from './drift-thresholds.js';
import { SourceWindow, type SourceState } from './drift-window.js';

// The options, thresholds and per-source state live in their own modules; importers keep importing them from here.
export { DEFAULT_EXPECTED_RUN_TIME, MAX_EXPECTED_RUN_TIME, type DriftOptions, type DriftVerdict } from './drift-options.js';
export { expectedFramesToFalseAlarm, type DriftThresholds } from './drift-thresholds.js';
export type { SourceState } from './drift-window.js';

export class DriftMonitor {
  private readonly sources = new Map<string, SourceWindow>();
  private readonly minFrames: number;
  private resolveRate: number;
  private current: DriftOptions;
  /** The thresholds of the current options (replaced with the baseline). */
  private limits: DriftLimits;

  constructor(options: DriftOptions) {
    assertDriftOptions(options);
    this.current = options;
    this.minFrames = Math.min(options.minFrames ?? options.window, options.window);
    this.resolveRate = options.resolveRate ?? 2 * options.p0;
    this.limits = new DriftLimits(options);
  }

  get options(): DriftOptions {
    return this.current;
  }

  /** The thresholds in force (for the startup log and the metrics; computed once per baseline). */
  get thresholds(): DriftThresholds {
    return this.limits.thresholds;
  }

  /** The CUSUM's share of the ERT it was built for (Infinity: off). */
  get cusumTarget(): number {
    return this.limits.cusumTarget;
  }

  /**
   * A new calibration's baseline rate (a reload): the next verdict is tested against it.
   * Windows keep their verdicts (judged at the old threshold, which a recalibration of the
   * same model moves little) and open episodes stay open, so a reload neither raises nor
   * hides an alarm by itself. The CUSUMs carry on, in the same units (the partial-shift
   * CUSUM's increments and both thresholds follow the new calibration's p0 and reference
   * size, given or not).
   */
  setBaseline(p0: number, referenceSize?: number): void {
    if (!(p0 > 0 && p0 < 1)) throw new RangeError(`p0 must be in (0, 1), got ${p0}`);
    const defaultResolve = this.current.resolveRate === undefined;
    this.current = { ...this.current, p0, referenceSize };
    assertDriftOptions(this.current);
    if (defaultResolve) this.resolveRate = 2 * p0;
    this.limits = new DriftLimits(this.current);
    // A calibration with p-values after one without (or the reverse) changes the CUSUM's kind: its units differ, so it restarts.
    const partial = this.limits.partialIncrements !== undefined;
    for (const w of this.sources.values()) {
      if (w.partialShift === partial) continue;
      w.partialShift = partial;
      w.s = 0;
    }
  }

  /**
   * Records one verdict; returns the episode event it causes, if any. `offset`: the frame's
   * input offset on `partition`; a frame at or below the last one counted there and no
   * later (a redelivery after a restart restored the window) is not counted again.
   */
  observe(source: string, verdict: DriftVerdict, ts: number, partition?: number, offset?: string): DriftEvent | undefined {
    let w = this.sources.get(source);
    if (!w) {
      w = new SourceWindow(this.options.window, this.limits.partialIncrements !== undefined);
      this.sources.set(source, w);
    }
    const at = partition !== undefined && offset !== undefined && /^\d{1,19}$/.test(offset) ? BigInt(offset) : undefined;
    // A redelivery: at or below the last offset counted there, and no later in frame time (a
    // recreated topic starts its offsets again, with later frames).
    if (at !== undefined && w.partition === partition && w.offset !== undefined && at <= w.offset && ts <= (w.lastTs ?? Number.POSITIVE_INFINITY)) return undefined;
    if (partition !== undefined) w.partition = partition;
    w.offset = at;
    w.lastTs = ts;
    w.push(verdict.flagged);
    w.lastSeen = Date.now();
    const { cusumSteps } = this.limits;
    // The CUSUM needs no full window; a p-value that is not one (absent, NaN, outside [0, 1]) is skipped.
    const p = verdict.pValue;
    if (Number.isFinite(cusumSteps) && typeof p === 'number' && p >= 0 && p <= 1) {
      w.s = Math.max(0, w.s + this.cusumStep(p));
      // Open, the CUSUM is capped (DriftLimits.activeCap): after the shift ends it falls below h
      // within about h / 0.39 frames (−ln p CUSUM) or a window (partial-shift), however long the shift lasted.
      if (w.active) w.s = Math.min(w.s, this.limits.activeCap);
    }
    const drifting = w.s >= cusumSteps;
    const tested = w.n >= this.minFrames;
    const rate = w.k / w.n;
    if (!w.active) {
      const flagHit = tested && w.k >= this.limits.criticalCount(w.n);
      if (!flagHit && !drifting) return undefined;
      w.active = true;
      w.startedAt = ts;
      w.belowSince = Number.NaN;
      return { ...this.event('drift-started', source, w, ts), statistic: flagHit ? 'flag-count' : 'p-value-cusum' };
    }
    // Still drifting by the flag rate or by the p-values (CUSUM at or above h): the hysteresis clock starts again.
    if (drifting || !tested || rate > this.resolveRate) {
      w.belowSince = Number.NaN;
      return undefined;
    }
    if (Number.isNaN(w.belowSince)) w.belowSince = ts;
    if (ts - w.belowSince < this.options.resolveAfterMs) return undefined;
    w.active = false;
    const resolved = { ...this.event('drift-resolved', source, w, ts), startedAt: w.startedAt };
    w.s = 0; // restarted: the next episode needs a fresh crossing
    return resolved;
  }

  /**
   * The CUSUM's increment for a p-value, in lattice steps: −ln p − 2 ln 2 (ert.ts), or the
   * partial-shift log-likelihood ratio (partial-shifts.ts); fitted to the calibration's
   * p-values, −ln p is read up to the cap their law is known to (cusum-lattice.ts).
   */
  private cusumStep(p: number): number {
    const { partialIncrements, capIndex } = this.limits;
    if (partialIncrements) return partialIncrements[Math.min(latticeIndex(p), capIndex)]!;
    if (this.current.referenceSize === undefined) return cusumIncrement(p) - CUSUM_REFERENCE_STEPS;
    return Math.min(latticeIndex(p), capIndex) - CUSUM_REFERENCE_STEPS;
  }

  state(source: string): SourceState | undefined {
    return this.sources.get(source)?.state;
  }

  /** The source's window for the changelog, if it has one. */
  snapshot(source: string): DriftSnapshot | undefined {
    return this.sources.get(source)?.toSnapshot(source);
  }

  /**
   * Takes over a window from the changelog (a restart, or a partition that moved here). A
   * snapshot of another window size, or an inconsistent one, is refused (returns false): the
   * source then starts afresh. A v1 snapshot (before the CUSUM) restores with the CUSUM at 0.
   */
  restore(snap: DriftSnapshot): boolean {
    const w = SourceWindow.fromSnapshot(snap, this.options.window, this.limits.partialIncrements !== undefined);
    if (!w) return false;
    this.sources.set(snap.source, w);
    return true;
  }

  /** The input partition a source's frames arrive on, where known. */
  partitionOf(source: string): number | undefined {
    return this.sources.get(source)?.partition;
  }

  /** When the source's open episode started (frame time), if one is open. */
  startedAt(source: string): number | undefined {
    const w = this.sources.get(source);
    return w?.active ? w.startedAt : undefined;
  }

  /** Sources with an open episode among these (for drift-state-reset when their state cannot follow them). */
  activeOn(partitions: readonly number[]): string[] {
    const on = new Set(partitions);
    return [...this.sources].filter(([, w]) => w.active && w.partition !== undefined && on.has(w.partition)).map(([s]) => s);
  }

  /** Forgets a source (e.g. its partition moved to another consumer). */
  forget(source: string): void {
    this.sources.delete(source);
  }

  /** Forgets the sources whose frames arrive on these partitions (moved to another consumer); returns them. */
  forgetPartitions(partitions: readonly number[]): string[] {
    const gone = new Set(partitions);
    const dropped: string[] = [];
    for (const [source, w] of this.sources) {
      if (w.partition !== undefined && gone.has(w.partition)) {
        this.sources.delete(source);
        dropped.push(source);
      }
    }
    return dropped;
  }

  /** Sources forgetIdle() would drop now. */
  idle(now = Date.now()): string[] {
    const limit = this.options.idleForgetMs;
    if (!limit) return [];
    return [...this.sources].filter(([, w]) => !w.active && now - w.lastSeen >= limit).map(([s]) => s);
  }

  /**
   * Drops the windows of sources idle for `idleForgetMs` with no open episode (an open one is
   * kept: its drift-resolved is still owed); returns the sources dropped.
   */
  forgetIdle(now = Date.now()): string[] {
    const dropped = this.idle(now);
    for (const source of dropped) this.sources.delete(source);
    return dropped;
  }

  /**
   * Ends the open episodes of sources that sent nothing for `silenceMs` (wall-clock): they
   * went quiet, they did not recover. Each window keeps its verdicts; the CUSUM restarts, so
   * a source that comes back still shifted opens a new episode. Returns the episodes ended.
   */
  endSilent(silenceMs: number, now = Date.now()): SilentEpisode[] {
    const ended: SilentEpisode[] = [];
    for (const [source, w] of this.sources) {
      if (!w.active || now - w.lastSeen < silenceMs) continue;
      w.active = false;
      w.belowSince = Number.NaN;
      w.s = 0;
      ended.push({ source, startedAt: w.startedAt, lastFrameAt: w.lastTs ?? w.startedAt, window: w.n, flagged: w.k, rate: w.n ? w.k / w.n : 0, p0: this.options.p0 });
    }
    return ended;
  }

  /** Sources with a window. */
  get size(): number {
    return this.sources.size;
  }

  private event(type: DriftEvent['type'], source: string, w: SourceWindow, ts: number): DriftEvent {
    const { cusumSteps } = this.limits;
    return {
      type,
      source,
      window: w.n,
      flagged: w.k,
      rate: w.k / w.n,
      p0: this.options.p0,
      pValue: binomialUpperTail(w.k, w.n, this.options.p0),
      criticalCount: this.limits.criticalCount(w.n),
      ...(Number.isFinite(cusumSteps) ? { cusum: w.s * CUSUM_QUANTUM, cusumThreshold: cusumSteps * CUSUM_QUANTUM } : {}),
      ts,
    };
  }
}
