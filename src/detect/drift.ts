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
import type { DriftEvent, DriftSnapshot, DriftStatistic } from '../contracts/drift.js';
import { binomialUpperTail, criticalCount } from './binomial.js';
import {
  combinedRunTime,
  criticalCountForRunTime,
  CUSUM_QUANTUM,
  CUSUM_REFERENCE_STEPS,
  cusumAverageRunLength,
  cusumIncrement,
  cusumThresholdForRunTime,
  expectedFramesToFalseAlarmAt,
  upcrossingFramesToFalseAlarm,
} from './ert.js';

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

/** The thresholds the options imply, and the false-alarm interval each gives. */
export interface DriftThresholds {
  /** Flagged verdicts in a full window that start an episode. */
  readonly criticalCount: number;
  /** Expected frames between false flag-count alarms at that count (upcrossing approximation). */
  readonly flagCountRunTime: number;
  /** CUSUM threshold h, in units of −ln p (undefined: the CUSUM is off). */
  readonly cusumThreshold?: number;
  /** Its exact in-control average run length, frames. */
  readonly cusumRunTime?: number;
  /** Both together: 1 / (1/flagCountRunTime + 1/cusumRunTime). */
  readonly expectedRunTime: number;
  /** Where the flag count's threshold comes from. */
  readonly flagCountFrom: 'expectedRunTime' | 'alpha';
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

export interface SourceState {
  readonly active: boolean;
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
}


class SourceWindow {
  ring: Uint8Array;
  next = 0;
  n = 0;
  k = 0;
  /** The CUSUM, in lattice steps of CUSUM_QUANTUM. */
  s = 0;
  active = false;
  startedAt = 0;
  /** Frame time since which the rate has stayed at or below resolveRate (NaN: not below). */
  belowSince = Number.NaN;
  /** Wall-clock time of the last verdict (frame times may be old or skewed). */
  lastSeen = Date.now();
  /** The input partition the source's frames arrive on, where there is one: the window moves with it. */
  partition: number | undefined;

  constructor(size: number) {
    this.ring = new Uint8Array(size);
  }

  push(flagged: boolean): void {
    if (this.n === this.ring.length) this.k -= this.ring[this.next]!;
    else this.n++;
    this.ring[this.next] = flagged ? 1 : 0;
    this.k += this.ring[this.next]!;
    this.next = (this.next + 1) % this.ring.length;
  }
}

export class DriftMonitor {
  private readonly sources = new Map<string, SourceWindow>();
  /** critical[n] = the flag count that starts an episode at n verdicts, computed on first use. */
  private critical: number[] = [];
  private readonly minFrames: number;
  private resolveRate: number;
  private current: DriftOptions;
  /** The configured ERT; the flag count's share of it (frames); the CUSUM's threshold in steps (Infinity: off). */
  private readonly ert: number;
  private readonly flagRunTime: number;
  private cusumRunTimeTarget = Infinity;
  private cusumSteps = Infinity;
  private cached: DriftThresholds | undefined;

  constructor(options: DriftOptions) {
    const ert = options.expectedRunTime ?? DEFAULT_EXPECTED_RUN_TIME;
    const alpha = options.alpha ?? 0;
    if (
      !(options.window >= 1) ||
      !(alpha === 0 || (alpha > 0 && alpha < 1)) ||
      !(options.p0 > 0 && options.p0 < 1) ||
      !(ert >= 2 * options.window && ert <= MAX_EXPECTED_RUN_TIME)
    ) {
      throw new RangeError(
        `drift options need window ≥ 1, alpha 0 (derived) or in (0, 1), 0 < p0 < 1, 2·window ≤ expectedRunTime ≤ ${MAX_EXPECTED_RUN_TIME}; got ${JSON.stringify(options)}`,
      );
    }
    this.current = options;
    this.minFrames = Math.min(options.minFrames ?? options.window, options.window);
    this.resolveRate = options.resolveRate ?? 2 * options.p0;
    this.ert = ert;
    this.flagRunTime = (options.pValueCusum ?? true) ? 2 * ert : ert;
    this.shareCusum();
  }

  /**
   * The CUSUM gets what the flag count leaves of the false-alarm rate: 1/ERT₂ = 1/ERT − 1/ERT₁,
   * ERT₁ the flag count's run time at its whole-number critical count (≥ 2·ERT, so ERT₂ is
   * between ERT and 2·ERT). With an explicit alpha the flag count is the operator's: the
   * CUSUM keeps 2·ERT.
   */
  private shareCusum(): void {
    if (!(this.current.pValueCusum ?? true)) return;
    const { window, p0, alpha } = this.current;
    const flag = alpha ? 2 * this.ert : expectedFramesToFalseAlarmAt(window, p0, this.criticalCount(window));
    const target = alpha || !(flag > this.ert) ? 2 * this.ert : Math.round(1 / (1 / this.ert - 1 / flag));
    this.cusumRunTimeTarget = target;
    this.cusumSteps = cusumThresholdForRunTime(target);
  }

  get options(): DriftOptions {
    return this.current;
  }

  /** The thresholds in force (for the startup log and the metrics; computed once per baseline). */
  get thresholds(): DriftThresholds {
    this.cached ??= this.computeThresholds();
    return this.cached;
  }

  private computeThresholds(): DriftThresholds {
    const { window, p0 } = this.current;
    const k = this.criticalCount(window);
    const flagCountRunTime = this.current.alpha ? upcrossingFramesToFalseAlarm(window, p0, k) : expectedFramesToFalseAlarmAt(window, p0, k);
    const cusum = Number.isFinite(this.cusumSteps)
      ? { cusumThreshold: this.cusumSteps * CUSUM_QUANTUM, cusumRunTime: cusumAverageRunLength(this.cusumSteps) }
      : {};
    return {
      criticalCount: k,
      flagCountRunTime,
      ...cusum,
      expectedRunTime: combinedRunTime(flagCountRunTime, ...(cusum.cusumRunTime ? [cusum.cusumRunTime] : [])),
      flagCountFrom: this.current.alpha ? 'alpha' : 'expectedRunTime',
    };
  }

  /** The CUSUM's share of the ERT it was built for (Infinity: off). */
  get cusumTarget(): number {
    return this.cusumRunTimeTarget;
  }

  /**
   * A new calibration's baseline rate (a reload): the next verdict is tested against it.
   * Windows keep their verdicts (judged at the old threshold, which a recalibration of the
   * same model moves little) and open episodes stay open, so a reload neither raises nor
   * hides an alarm by itself. The CUSUM does not depend on p0 and carries on.
   */
  setBaseline(p0: number): void {
    if (!(p0 > 0 && p0 < 1)) throw new RangeError(`p0 must be in (0, 1), got ${p0}`);
    const defaultResolve = this.current.resolveRate === undefined;
    this.current = { ...this.current, p0 };
    if (defaultResolve) this.resolveRate = 2 * p0;
    this.critical = [];
    this.cached = undefined;
    this.shareCusum();
  }

  /** Records one verdict; returns the episode event it causes, if any. */
  observe(source: string, verdict: DriftVerdict, ts: number, partition?: number): DriftEvent | undefined {
    let w = this.sources.get(source);
    if (!w) {
      w = new SourceWindow(this.options.window);
      this.sources.set(source, w);
    }
    if (partition !== undefined) w.partition = partition;
    w.push(verdict.flagged);
    w.lastSeen = Date.now();
    // The CUSUM needs no full window; a p-value that is not one (absent, NaN, outside [0, 1]) is skipped.
    const p = verdict.pValue;
    if (Number.isFinite(this.cusumSteps) && typeof p === 'number' && p >= 0 && p <= 1) {
      w.s = Math.max(0, w.s + cusumIncrement(p) - CUSUM_REFERENCE_STEPS);
      // Open, the CUSUM is capped at 2h: after the shift ends it falls below h within about
      // h / (k − E[−ln p]) = h / 0.39 frames, however long the shift lasted.
      if (w.active) w.s = Math.min(w.s, 2 * this.cusumSteps);
    }
    const drifting = w.s >= this.cusumSteps;
    const tested = w.n >= this.minFrames;
    const rate = w.k / w.n;
    if (!w.active) {
      const flagHit = tested && w.k >= this.criticalCount(w.n);
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

  state(source: string): SourceState | undefined {
    const w = this.sources.get(source);
    return w && { active: w.active, window: w.n, flagged: w.k, rate: w.n ? w.k / w.n : 0 };
  }

  /** The source's window for the changelog, if it has one. */
  snapshot(source: string): DriftSnapshot | undefined {
    const w = this.sources.get(source);
    if (!w) return undefined;
    return {
      v: 2,
      source,
      ...(w.partition === undefined ? {} : { partition: w.partition }),
      ring: Buffer.from(w.ring).toString('base64'),
      next: w.next,
      n: w.n,
      k: w.k,
      active: w.active,
      startedAt: w.startedAt,
      belowSince: Number.isNaN(w.belowSince) ? null : w.belowSince,
      cusum: w.s * CUSUM_QUANTUM,
    };
  }

  /**
   * Takes over a window from the changelog (a restart, or a partition that moved here). A
   * snapshot of another window size, or an inconsistent one, is refused (returns false): the
   * source then starts afresh. A v1 snapshot (before the CUSUM) restores with the CUSUM at 0.
   */
  restore(snap: DriftSnapshot): boolean {
    const ring = Buffer.from(snap.ring, 'base64');
    let k = 0;
    for (const b of ring) k += b;
    const cusum = snap.v === 2 ? snap.cusum : 0;
    const consistent =
      (snap.v === 1 || (snap.v === 2 && typeof cusum === 'number' && cusum >= 0 && Number.isFinite(cusum))) &&
      ring.length === this.options.window && snap.n >= 0 && snap.n <= ring.length && snap.k === k && snap.next >= 0 && snap.next < ring.length;
    if (!consistent) return false;
    const w = new SourceWindow(this.options.window);
    w.ring = new Uint8Array(ring);
    w.next = snap.next;
    w.n = snap.n;
    w.k = snap.k;
    w.active = snap.active;
    w.startedAt = snap.startedAt;
    w.belowSince = snap.belowSince ?? Number.NaN;
    // At or above this h (a window written under a larger ERT), it starts an episode on the next p-value.
    w.s = Math.round(cusum! / CUSUM_QUANTUM);
    w.partition = snap.partition;
    this.sources.set(snap.source, w);
    return true;
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

  /**
   * Drops the windows of sources idle for `idleForgetMs` with no open episode (an open one is
   * kept: its drift-resolved is still owed); returns the sources dropped.
   */
  forgetIdle(now = Date.now()): string[] {
    const limit = this.options.idleForgetMs;
    if (!limit) return [];
    const dropped: string[] = [];
    for (const [source, w] of this.sources) {
      if (!w.active && now - w.lastSeen >= limit) {
        this.sources.delete(source);
        dropped.push(source);
      }
    }
    return dropped;
  }

  /** Sources with a window. */
  get size(): number {
    return this.sources.size;
  }

  private criticalCount(n: number): number {
    const { p0, alpha } = this.options;
    this.critical[n] ??= alpha ? criticalCount(n, p0, alpha) : criticalCountForRunTime(n, p0, this.flagRunTime);
    return this.critical[n];
  }

  private event(type: DriftEvent['type'], source: string, w: SourceWindow, ts: number): DriftEvent {
    return {
      type,
      source,
      window: w.n,
      flagged: w.k,
      rate: w.k / w.n,
      p0: this.options.p0,
      pValue: binomialUpperTail(w.k, w.n, this.options.p0),
      criticalCount: this.criticalCount(w.n),
      ...(Number.isFinite(this.cusumSteps) ? { cusum: w.s * CUSUM_QUANTUM, cusumThreshold: this.cusumSteps * CUSUM_QUANTUM } : {}),
      ts,
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
