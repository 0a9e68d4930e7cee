/**
 * How the verdict rule turns its heads' conformal ID p-values into one ID statistic (higher =
 * more in-distribution; docs/DEFINITIONS.md#the-verdict-rule). Every rule is fitted on
 * calibration frames only: what a rule keeps beyond its name (weights, component references)
 * comes from the calibration frames' leave-one-out p-values, never from OOD data. Pure.
 */

import { countAtOrBelow } from './sorted-counts.js';
import { groupStatistics, inputMask } from './two-group.js';

export { countAtOrBelow };

/**
 * - `fisher`: Σ ln pₕ (Fisher's method): several heads that are each a little unusual add up,
 *   which is what covariate shifts do; two "very typical" heads can outvote one "never seen".
 * - `min-p`: minₕ pₕ (Tippett): the frame is as unusual as its most unusual head.
 * - `fisher-guard`: Fisher with a min-p guard: the smaller of the two statistics' own ID
 *   p-values against the calibration frames (flagged when either is unusual; the 5 % budget
 *   is shared by the ID threshold).
 * - `cauchy`: the Cauchy combination test (Liu & Xie 2020): 1/2 − arctan(mean tan((1/2 − pₕ)π))/π.
 * - `hmp`: the harmonic-mean p-value (Wilson 2019): k / Σ 1/pₕ.
 * - `fisher-weighted`: Σ wₕ ln pₕ, weights w ∝ R⁻¹1 from the correlation R of the heads'
 *   ln p on the calibration frames (clipped at 0, summing to k): heads that move together
 *   share one vote instead of outvoting an independent one.
 * - `two-group`: two kinds of evidence judged apart (two-group.ts): Fisher within the
 *   classifier heads, min-p within the input heads; each group's statistic ranked against the
 *   calibration frames' own, and the frame is as unusual as its more unusual group, so neither
 *   group can dilute the other.
 */
export const COMBINE_RULES = ['fisher', 'min-p', 'fisher-guard', 'cauchy', 'hmp', 'fisher-weighted', 'two-group'] as const;
export type CombineRule = (typeof COMBINE_RULES)[number];

/** What a fitted rule keeps beside its threshold (calibration file: `verdict.weights`, `verdict.guard`). */
export interface CombineParams {
  /** fisher-weighted: one weight per head, in the rule's head order. */
  readonly weights?: readonly number[];
  /**
   * fisher-guard: the calibration frames' Fisher sums and min-p values, each sorted ascending;
   * two-group: the same of the classifier heads (Fisher) and of the input heads (min-p).
   */
  readonly guard?: { readonly fisher: Float64Array; readonly minP: Float64Array };
  /** two-group: which heads, in the rule's order, are input heads (from their names, not stored). */
  readonly inputs?: readonly boolean[];
}

/** Relative tolerance for ties between p-values (or their logs) computed on different grids: float rounding, far below any real gap. */
const GRID_TOLERANCE = 1e-12;

/**
 * Cauchy reads p within [b, 1 − b]: at p = 1 (a head constant on the calibration frames gives
 * every ID frame p = 1) tan(−π/2) is −1.6·10¹⁶ in floating point and swamps the other heads,
 * so every frame's statistic rounds to the same 1 and the 5 % threshold flags them all. Clamped,
 * such a head adds one constant (−3.2·10⁵) and the statistic still ranks frames by the others.
 */
const CAUCHY_P_BOUND = 1e-6;

function fisherSum(p: ArrayLike<number>, weights?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (weights ? weights[i]! : 1) * Math.log(p[i]!);
  return s;
}

function minP(p: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < p.length; i++) m = Math.min(m, p[i]!);
  return m;
}

/** A combination rule with its fitted parameters: p-values in, ID statistic out. */
export class Combiner {
  constructor(
    readonly rule: CombineRule,
    readonly params: CombineParams = {},
  ) {
    if (rule === 'fisher-weighted' && !params.weights) throw new RangeError('fisher-weighted needs its weights');
    if (rule === 'fisher-guard' && !params.guard) throw new RangeError('fisher-guard needs its calibration references');
    if (rule === 'two-group' && (!params.guard || !params.inputs)) throw new RangeError('two-group needs its calibration references and which heads are input heads');
  }

  /**
   * The ID statistic of one frame's p-values. `self`: the frame is one of the calibration
   * frames behind the guard's references, so its rank leaves itself out (#{others ≤ t} + 1)/n.
   */
  statistic(p: ArrayLike<number>, self = false): number {
    switch (this.rule) {
      case 'min-p':
        return minP(p);
      case 'fisher-weighted':
        return fisherSum(p, this.params.weights);
      case 'fisher-guard': {
        const { fisher, minP: minRef } = this.params.guard!;
        if (self) return Math.min(countAtOrBelow(fisher, fisherSum(p)) / fisher.length, countAtOrBelow(minRef, minP(p)) / minRef.length);
        // The references hold the calibration frames' leave-one-out p-values, (1 + c)/n for c
        // others below; a new frame's are (1 + c)/(n + 1), a hair smaller for the same rank, so
        // against the references it would rank below its whole tie group (min-p ties a lot),
        // and the verdict's p-values would run heavier in the tail than the conformal law
        // (docs/DEFINITIONS.md#the-calibrations-own-sampling-error). Rescaled by (n + 1)/n, ties stay ties.
        const n = fisher.length;
        return Math.min(rankOfNew(fisher, fisherSum(p) + p.length * Math.log1p(1 / n)), rankOfNew(minRef, (minP(p) * (n + 1)) / n));
      }
      case 'two-group': {
        const { fisher, minP: minRef } = this.params.guard!;
        // A new frame's group statistics are put on the references' grid first, as fisher-guard's
        // are: its input group is a min-p, which ties as much as fisher-guard's (every input head
        // puts a calibration frame at each rank), and below its tie group the new frame's rank
        // made the verdict's tail heavier than the conformal law.
        const { classifier, input } = groupStatistics(self ? p : onReferenceGrid(p, fisher.length), this.params.inputs!);
        return self
          ? Math.min(rankAmong(fisher, classifier, true), rankAmong(minRef, input, true))
          : Math.min(rankOfNew(fisher, classifier), rankOfNew(minRef, input));
      }
      case 'cauchy': {
        let t = 0;
        for (let i = 0; i < p.length; i++) t += Math.tan((0.5 - Math.min(Math.max(p[i]!, CAUCHY_P_BOUND), 1 - CAUCHY_P_BOUND)) * Math.PI);
        return 0.5 - Math.atan(t / p.length) / Math.PI;
      }
      case 'hmp': {
        let s = 0;
        for (let i = 0; i < p.length; i++) s += 1 / p[i]!;
        return p.length / s;
      }
      default:
        return fisherSum(p);
    }
  }
}

/**
 * Fits a rule's parameters on the calibration frames' leave-one-out p-values (`p[h][j]`: head
 * h, frame j). Only ID statistics: the heads' correlation, the components' own distributions.
 */
export function fitCombiner(rule: CombineRule, p: readonly Float64Array[], heads?: readonly string[]): Combiner {
  if (rule === 'two-group') {
    if (!heads || heads.length !== p.length) throw new RangeError('two-group needs the head names');
    const inputs = inputMask(heads);
    const guard = references(p, (frame) => {
      const g = groupStatistics(frame, inputs);
      return [g.classifier, g.input];
    });
    return new Combiner(rule, { guard, inputs });
  }
  if (rule === 'fisher-weighted') return new Combiner(rule, { weights: decorrelatingWeights(p.map((ph) => ph.map(Math.log))) });
  if (rule !== 'fisher-guard') return new Combiner(rule);
  return new Combiner(rule, { guard: references(p, (frame) => [fisherSum(frame), minP(frame)]) });
}

/**
 * The calibration frames' two guard statistics (a Fisher sum and a min-p, of all heads or of
 * their groups), each sorted ascending: what a frame's statistics are ranked against.
 */
function references(p: readonly Float64Array[], statistics: (frame: Float64Array) => readonly [number, number]): { fisher: Float64Array; minP: Float64Array } {
  const n = p[0]!.length;
  const fisher = new Float64Array(n);
  const min = new Float64Array(n);
  const frame = new Float64Array(p.length);
  for (let j = 0; j < n; j++) {
    p.forEach((ph, k) => (frame[k] = ph[j]!));
    [fisher[j], min[j]] = statistics(frame);
  }
  return { fisher: fisher.sort(), minP: min.sort() };
}

/**
 * A new frame's head p-values, (1 + c)/(n + 1) for c of the n calibration scores at or below
 * its own, put on the grid of the calibration frames' leave-one-out ones, (1 + c)/n: × (n + 1)/n.
 */
function onReferenceGrid(p: ArrayLike<number>, n: number): Float64Array {
  return Float64Array.from(p, (v) => (v * (n + 1)) / n);
}

/**
 * A new frame's conformal rank of t among the sorted calibration statistics `ref`, with t on
 * their grid (onReferenceGrid): (1 + #{ref ≤ t})/(n + 1), counting the values that differ from
 * t by float rounding only as ties.
 */
function rankOfNew(ref: Float64Array, t: number): number {
  return (1 + countAtOrBelow(ref, t + GRID_TOLERANCE * Math.abs(t))) / (ref.length + 1);
}

/**
 * A calibrated rank of t among the sorted calibration statistics `ref`: a calibration frame's
 * own (`self`) leaves itself out, (#{others ≤ t} + 1)/n; a new frame's is (1 + #{ref ≤ t})/(n + 1).
 */
export function rankAmong(ref: Float64Array, t: number, self: boolean): number {
  return self ? countAtOrBelow(ref, t) / ref.length : (1 + countAtOrBelow(ref, t)) / (ref.length + 1);
}

/**
 * w ∝ R⁻¹1 (the weighting that minimises the ID variance of Σ wₕ xₕ for a given Σ wₕ, R the
 * heads' correlation), clipped at 0 and scaled to sum k: uncorrelated heads keep weight 1.
 */
export function decorrelatingWeights(x: readonly Float64Array[]): number[] {
  const k = x.length;
  const n = x[0]!.length;
  const centred = x.map((xh) => {
    const mean = xh.reduce((a, v) => a + v, 0) / n;
    const c = xh.map((v) => v - mean);
    const sd = Math.sqrt(c.reduce((a, v) => a + v * v, 0) / n) || 1;
    return c.map((v) => v / sd);
  });
  // A head constant on the calibration frames has no ID variation: uncorrelated with the others,
  // it keeps weight 1 (its zero row would otherwise give it all the weight).
  const r = centred.map((a, i) => centred.map((b, j) => (i === j && a.every((v) => v === 0) ? 1 : a.reduce((s, v, m) => s + v * b[m]!, 0) / n)));
  const raw = solve(r.map((row, i) => row.map((v, j) => v + (i === j ? 1e-9 : 0))), new Array<number>(k).fill(1)).map((w) => Math.max(0, w));
  const total = raw.reduce((a, w) => a + w, 0);
  return total > 0 ? raw.map((w) => (k * w) / total) : new Array<number>(k).fill(1);
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A small and symmetric positive definite). */
function solve(a: number[][], b: number[]): number[] {
  const k = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < k; c++) {
    let pivot = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    for (let r = c + 1; r < k; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= k; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const x = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r--) {
    let s = m[r]![k]!;
    for (let j = r + 1; j < k; j++) s -= m[r]![j]! * x[j]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}
