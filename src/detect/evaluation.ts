/**
 * FPR95 and AUROC of every score head on every OOD set, and their averages (docs/DEFINITIONS.md).
 * Raw head outputs are turned into ID-scores (higher = more in-distribution) first.
 */
import { ID_SCORE_SIGN } from './calibration.js';
import { auroc, fpr95, rocCurve } from './metrics.js';

export interface MetricPair {
  readonly fpr95: number;
  readonly auroc: number;
}

export interface Evaluation {
  readonly heads: readonly string[];
  readonly oodSets: readonly string[];
  /** results[head][oodSet] */
  readonly results: Readonly<Record<string, Readonly<Record<string, MetricPair>>>>;
  readonly average: Readonly<Record<string, MetricPair>>;
}

export type HeadScores = Readonly<Record<string, ArrayLike<number>>>;

const idScores = (head: string, raw: ArrayLike<number>): Float64Array => {
  const sign = ID_SCORE_SIGN[head] ?? 1;
  return Float64Array.from(raw, (v) => sign * v);
};

export function evaluate(id: HeadScores, ood: ReadonlyArray<{ name: string; heads: HeadScores }>): Evaluation {
  const heads = Object.keys(id).filter((h) => ID_SCORE_SIGN[h] !== undefined);
  const results: Record<string, Record<string, MetricPair>> = {};
  const average: Record<string, MetricPair> = {};
  for (const h of heads) {
    const s = idScores(h, id[h]!);
    results[h] = {};
    for (const set of ood) {
      const o = idScores(h, set.heads[h]!);
      results[h][set.name] = { fpr95: fpr95(s, o), auroc: auroc(s, o) };
    }
    const rows = Object.values(results[h]);
    average[h] = {
      fpr95: rows.reduce((a, r) => a + r.fpr95, 0) / rows.length,
      auroc: rows.reduce((a, r) => a + r.auroc, 0) / rows.length,
    };
  }
  return { heads, oodSets: ood.map((o) => o.name), results, average };
}

/** ROC curves per head for one OOD set, thinned to at most `maxPoints` points each. */
export function rocCurves(id: HeadScores, ood: HeadScores, heads: readonly string[], maxPoints = 300): Record<string, Array<[number, number]>> {
  return Object.fromEntries(
    heads.map((h) => {
      const curve = rocCurve(idScores(h, id[h]!), idScores(h, ood[h]!));
      const step = Math.max(1, Math.ceil(curve.length / maxPoints));
      const thinned = curve.filter((_, i) => i % step === 0 || i === curve.length - 1);
      return [h, thinned];
    }),
  );
}
