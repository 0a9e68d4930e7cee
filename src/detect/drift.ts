/**
 * Drift episodes per source (docs/DEFINITIONS.md#drift-episodes). Each source keeps a sliding window of its
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

/**
 * A source's window as plain JSON, for the changelog topic (its state survives restarts and
 * partition moves). The ring is base64 of one byte per verdict, oldest at `next`.
 */
export interface DriftSnapshot {
  readonly v: 1;
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
}

class SourceWindow {
  ring: Uint8Array;
  next = 0;
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
  private critical: number[] = [];
  private readonly minFrames: number;
  private resolveRate: number;
  private current: DriftOptions;

  constructor(options: DriftOptions) {
    if (!(options.window >= 1) || !(options.alpha > 0 && options.alpha < 1) || !(options.p0 > 0 && options.p0 < 1)) {
      throw new RangeError(`drift options need window ≥ 1, 0 < alpha < 1, 0 < p0 < 1; got ${JSON.stringify(options)}`);
    }
    this.current = options;
    this.minFrames = Math.min(options.minFrames ?? options.window, options.window);
    this.resolveRate = options.resolveRate ?? 2 * options.p0;
  }

  get options(): DriftOptions {
    return this.current;
  }

  /**
   * A new calibration's baseline rate (a reload): the next verdict is tested against it.
   * Windows keep their verdicts (judged at the old threshold, which a recalibration of the
   * same model moves little) and open episodes stay open, so a reload neither raises nor
   * hides an alarm by itself.
   */
  setBaseline(p0: number): void {
    if (!(p0 > 0 && p0 < 1)) throw new RangeError(`p0 must be in (0, 1), got ${p0}`);
    const defaultResolve = this.current.resolveRate === undefined;
    this.current = { ...this.current, p0 };
    if (defaultResolve) this.resolveRate = 2 * p0;
    this.critical = [];
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

  /** The source's window for the changelog, if it has one. */
  snapshot(source: string): DriftSnapshot | undefined {
    const w = this.sources.get(source);
    if (!w) return undefined;
    return {
      v: 1,
      source,
      ...(w.partition === undefined ? {} : { partition: w.partition }),
      ring: Buffer.from(w.ring).toString('base64'),
      next: w.next,
      n: w.n,
      k: w.k,
      active: w.active,
      startedAt: w.startedAt,
      belowSince: Number.isNaN(w.belowSince) ? null : w.belowSince,
    };
  }

  /**
   * Takes over a window from the changelog (a restart, or a partition that moved here). A
   * snapshot of another window size, or an inconsistent one, is refused (returns false): the
   * source then starts afresh.
   */
  restore(snap: DriftSnapshot): boolean {
    const ring = Buffer.from(snap.ring, 'base64');
    let k = 0;
    for (const b of ring) k += b;
    const consistent = snap.v === 1 && ring.length === this.options.window && snap.n >= 0 && snap.n <= ring.length && snap.k === k && snap.next >= 0 && snap.next < ring.length;
    if (!consistent) return false;
    const w = new SourceWindow(this.options.window);
    w.ring = new Uint8Array(ring);
    w.next = snap.next;
    w.n = snap.n;
    w.k = snap.k;
    w.active = snap.active;
    w.startedAt = snap.startedAt;
    w.belowSince = snap.belowSince ?? Number.NaN;
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
