/**
 * Drift episodes per source (DESIGN.md §4). Each source keeps a sliding window of its
 * last `window` verdicts. An episode starts when the number of flagged frames k in the
 * window is very unlikely under the baseline rate p0 (one-sided binomial tail
 * P(X ≥ k | n, p0) < alpha), and ends with hysteresis: once the windowed rate has stayed at
 * or below `resolveRate` for `resolveAfterMs` of frame time. Pure: verdicts in, events out.
 */
import { binomialUpperTail, criticalCount } from './binomial.js';

export interface DriftOptions {
  /** Verdicts in the sliding window. */
  readonly window: number;
  /** Significance of the start test. */
  readonly alpha: number;
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
  /** Frame time of the verdict that triggered the event. */
  readonly ts: number;
  /** For drift-resolved: when the episode started. */
  readonly startedAt?: number;
}

export interface SourceState {
  readonly active: boolean;
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
}

class SourceWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  n = 0;
  k = 0;
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
  /** critical[n] = smallest k with P(X ≥ k | n, p0) < alpha, computed on first use. */
  private readonly critical: number[] = [];
  private readonly minFrames: number;
  private readonly resolveRate: number;

  constructor(readonly options: DriftOptions) {
    if (!(options.window >= 1) || !(options.alpha > 0 && options.alpha < 1) || !(options.p0 > 0 && options.p0 < 1)) {
      throw new RangeError(`drift options need window ≥ 1, 0 < alpha < 1, 0 < p0 < 1; got ${JSON.stringify(options)}`);
    }
    this.minFrames = Math.min(options.minFrames ?? options.window, options.window);
    this.resolveRate = options.resolveRate ?? 2 * options.p0;
  }

  /** Records one verdict; returns the episode event it causes, if any. */
  observe(source: string, flagged: boolean, ts: number, partition?: number): DriftEvent | undefined {
    let w = this.sources.get(source);
    if (!w) {
      w = new SourceWindow(this.options.window);
      this.sources.set(source, w);
    }
    if (partition !== undefined) w.partition = partition;
    w.push(flagged);
    w.lastSeen = Date.now();
    if (w.n < this.minFrames) return undefined;
    const rate = w.k / w.n;
    if (!w.active) {
      if (w.k < this.criticalCount(w.n)) return undefined;
      w.active = true;
      w.startedAt = ts;
      w.belowSince = Number.NaN;
      return this.event('drift-started', source, w, ts);
    }
    if (rate > this.resolveRate) {
      w.belowSince = Number.NaN;
      return undefined;
    }
    if (Number.isNaN(w.belowSince)) w.belowSince = ts;
    if (ts - w.belowSince < this.options.resolveAfterMs) return undefined;
    w.active = false;
    return { ...this.event('drift-resolved', source, w, ts), startedAt: w.startedAt };
  }

  state(source: string): SourceState | undefined {
    const w = this.sources.get(source);
    return w && { active: w.active, window: w.n, flagged: w.k, rate: w.n ? w.k / w.n : 0 };
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
    this.critical[n] ??= criticalCount(n, this.options.p0, this.options.alpha);
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
      ts,
    };
  }
}

/**
 * Expected verdicts between false drift alarms on an in-distribution stream, from the
 * upcrossing (declumping) approximation of scan statistics: an alarm starts when the
 * window count steps from k*−1 to k*, which per verdict has probability
 * P(K = k*−1) · p0 · (1 − (k*−1)/W) for K ~ Binomial(W, p0); plus the W verdicts that fill
 * a fresh window.
 */
export function expectedFramesToFalseAlarm(window: number, p0: number, alpha: number): number {
  const k = criticalCount(window, p0, alpha);
  const below = binomialUpperTail(k - 1, window, p0) - binomialUpperTail(k, window, p0);
  const upcrossing = below * p0 * (1 - (k - 1) / window);
  return window + 1 / upcrossing;
}
