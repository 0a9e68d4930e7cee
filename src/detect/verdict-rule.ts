/**
 * The verdict rule (docs/DEFINITIONS.md#the-verdict-rule): several heads judged together,
 * calibrated on in-distribution frames only. Each head's ID-score becomes a conformal ID
 * p-value against the calibration frames' ID-scores of that head; the p-values are combined
 * into one ID statistic (higher = more in-distribution); the frame is flagged when that
 * statistic is at or below the threshold that flags 5% of the calibration frames (the same
 * TPR-95 rule as a single head). The verdict's own p-value ranks its statistic against the
 * calibration frames', so on in-distribution data it is close to Uniform(0, 1): what the
 * drift tests read. Pure: numbers in, numbers out.
 */
import { Combiner, countAtOrBelow, fitCombiner, type CombineRule } from './combine.js';
import { thresholdAtTpr95 } from './metrics.js';
import { inputMask } from './two-group.js';

export { COMBINE_RULES, type CombineRule } from './combine.js';

/** The verdict rule as stored in a calibration file. */
export interface StoredVerdictRule {
  readonly combine: CombineRule;
  /** The heads combined, in order; each must have a calibration with its reference scores. */
  readonly heads: readonly string[];
  /** Threshold on the combined statistic: flagged when statistic ≤ threshold. */
  readonly threshold: number;
  /** Fraction of calibration frames flagged (p0), from leave-one-out p-values. */
  readonly flagRate: number;
  /** The calibration frames' combined statistics, sorted ascending (float64, base64): for the verdict p-value. */
  readonly reference: string;
  /** fisher-weighted: each head's weight, in `heads` order (from the heads' ID correlation). */
  readonly weights?: readonly number[];
  /**
   * fisher-guard: the calibration frames' Fisher sums and min-p values, sorted ascending (float64,
   * base64); two-group: the classifier heads' Fisher sums and the input heads' min-p values.
   */
  readonly guard?: { readonly fisher: string; readonly minP: string };
}

/**
 * The combination a stored rule judges with; undefined when the parameters its rule needs are
 * missing or malformed (weights: one finite number ≥ 0 per head; guard: `frames` sorted floats).
 */
export function combinerOf(stored: Pick<StoredVerdictRule, 'combine' | 'heads' | 'weights' | 'guard'>, frames: number): Combiner | undefined {
  if (stored.combine === 'fisher-weighted') {
    const w = stored.weights;
    if (!Array.isArray(w) || w.length !== stored.heads.length || !w.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) return undefined;
    return new Combiner(stored.combine, { weights: w });
  }
  if (stored.combine === 'fisher-guard' || stored.combine === 'two-group') {
    const sorted = (text: unknown) => {
      const v = typeof text === 'string' ? decodeFloats(text, 'f64') : undefined;
      return v && v.length === frames && v.every((x, i) => Number.isFinite(x) && (i === 0 || x >= v[i - 1]!)) ? v : undefined;
    };
    const fisher = sorted(stored.guard?.fisher);
    const minP = sorted(stored.guard?.minP);
    if (!fisher || !minP) return undefined;
    return new Combiner(stored.combine, { guard: { fisher, minP }, ...(stored.combine === 'two-group' ? { inputs: inputMask(stored.heads) } : {}) });
  }
  return new Combiner(stored.combine);
}

/** A head's reference distribution: the calibration frames' ID-scores, sorted ascending. */
export class ReferenceScores {
  constructor(readonly sorted: Float64Array) {}

  static fromScores(idScores: ArrayLike<number>): ReferenceScores {
    return new ReferenceScores(Float64Array.from(idScores).sort());
  }

  get size(): number {
    return this.sorted.length;
  }

  /** #{reference ≤ s}. */
  countAtOrBelow(s: number): number {
    return countAtOrBelow(this.sorted, s);
  }

  /**
   * Conformal ID p-value of a new frame's ID-score: (1 + #{reference ≤ s}) / (n + 1). Under
   * no shift P(p ≤ a) ≤ a for every a; small = atypically low ID-score. A score that is not
   * a number (a broken frame) gets the smallest, 1 / (n + 1): it is no evidence of ID.
   */
  pValue(s: number): number {
    if (Number.isNaN(s)) return 1 / (this.sorted.length + 1);
    return (1 + this.countAtOrBelow(s)) / (this.sorted.length + 1);
  }
}

/** One ID statistic from p-values (higher = more in-distribution), for the rules that keep no parameters. */
export function combinePValues(rule: CombineRule, p: ArrayLike<number>): number {
  return new Combiner(rule).statistic(p);
}

/**
 * Fits the rule on calibration frames: `idScores[h][j]` is frame j's ID-score for head h
 * (every head scored on the same frames). A calibration frame's p-value leaves the frame
 * itself out (#{others ≤ s}+1)/n, so its statistic is distributed as a new frame's would be.
 * The rule's own parameters (combine.ts) are fitted on the same leave-one-out p-values.
 */
export function fitVerdictRule(combine: CombineRule, heads: readonly string[], idScores: Readonly<Record<string, ArrayLike<number>>>): StoredVerdictRule {
  if (heads.length === 0) throw new RangeError('a verdict rule needs at least one head');
  const n = idScores[heads[0]!]!.length;
  const loo = heads.map((h) => {
    const s = idScores[h];
    if (!s || s.length !== n) throw new RangeError(`head ${h}: ${s?.length ?? 0} calibration scores, expected ${n}`);
    const ref = ReferenceScores.fromScores(s);
    return Float64Array.from({ length: n }, (_, j) => ref.countAtOrBelow(s[j]!) / n);
  });
  const combiner = fitCombiner(combine, loo, heads);
  const statistic = new Float64Array(n);
  const p = new Float64Array(heads.length);
  for (let j = 0; j < n; j++) {
    loo.forEach((ph, k) => (p[k] = ph[j]!));
    statistic[j] = combiner.statistic(p, true);
  }
  const threshold = thresholdAtTpr95(statistic);
  let flagged = 0;
  for (const t of statistic) if (t <= threshold) flagged++;
  const { weights, guard } = combiner.params;
  return {
    combine,
    heads: [...heads],
    threshold,
    flagRate: flagged / n,
    reference: encodeFloats(statistic.sort(), 'f64'),
    ...(weights ? { weights: [...weights] } : {}),
    ...(guard ? { guard: { fisher: encodeFloats(guard.fisher, 'f64'), minP: encodeFloats(guard.minP, 'f64') } } : {}),
  };
}

/**
 * The rule a fit describes, built in memory over the calibration frames' ID-scores it was fitted
 * on (`sign` per head, +1 where omitted): what the agent would judge with after loading the
 * file `calibrate` writes. Benches and tests compare rules without writing files.
 */
export function ruleOfFit(stored: StoredVerdictRule, idScores: Readonly<Record<string, ArrayLike<number>>>, sign: (head: string) => 1 | -1 = () => 1): VerdictRule {
  const n = idScores[stored.heads[0]!]!.length;
  return new VerdictRule(
    combinerOf(stored, n)!,
    stored.heads.map((h) => ({ name: h, sign: sign(h), reference: ReferenceScores.fromScores(idScores[h]!) })),
    stored.threshold,
    stored.flagRate,
    new ReferenceScores(decodeFloats(stored.reference, 'f64')!),
  );
}

/** A head of the rule at run time: its orientation and its reference scores. */
export interface RuleHead {
  readonly name: string;
  readonly sign: 1 | -1;
  readonly reference: ReferenceScores;
}

export interface Judgement {
  readonly flagged: boolean;
  /** What the threshold judged: the combined statistic of a rule, a single head's raw score. */
  readonly score: number;
  /** The same, oriented as an ID-score (higher = more in-distribution), for evaluation. */
  readonly idScore: number;
  /** The verdict's ID p-value against the calibration frames (absent: a calibration without reference scores). */
  readonly pValue?: number;
  /** Each head's ID p-value, where it has reference scores. */
  readonly pValues?: Readonly<Record<string, number>>;
}

/** What judges the agent's frames: a verdict rule over several heads, or one head's threshold. */
export interface Judge {
  /** `verdict` for a rule, else the head's name: what records call the head that judged. */
  readonly name: string;
  /** The heads whose scores it reads. */
  readonly heads: readonly string[];
  /** Flag when score ≤ this (a rule, or a head with sign +1) or ≥ it (a head with sign −1). */
  readonly rawThreshold: number;
  /** p0: the fraction of in-distribution frames it flags. */
  readonly flagRate: number;
  /** How many calibration statistics its p-values rank against (undefined: it gives none); the drift monitor fits its CUSUMs to their law. */
  readonly referenceSize?: number;
  /** Judges frame i of a scored batch (`raw[head][i]`: the head's raw output). */
  judge(raw: Readonly<Record<string, ArrayLike<number>>>, i: number): Judgement;
  /** When a frame is flagged, in words. */
  describe(): string;
}

/** The rule ready to judge frames. */
export class VerdictRule implements Judge {
  readonly name = 'verdict';
  readonly combiner: Combiner;
  private readonly p: Float64Array;

  /** `combine`: a rule's name when it keeps no parameters, else its fitted Combiner (combinerOf). */
  constructor(
    combine: CombineRule | Combiner,
    readonly ruleHeads: readonly RuleHead[],
    readonly threshold: number,
    readonly flagRate: number,
    private readonly reference: ReferenceScores,
  ) {
    this.combiner = typeof combine === 'string' ? new Combiner(combine) : combine;
    this.p = new Float64Array(ruleHeads.length);
  }

  get combine(): CombineRule {
    return this.combiner.rule;
  }

  get rawThreshold(): number {
    return this.threshold;
  }

  get heads(): readonly string[] {
    return this.ruleHeads.map((h) => h.name);
  }

  get referenceSize(): number {
    return this.reference.size;
  }

  judge(raw: Readonly<Record<string, ArrayLike<number>>>, i: number): Judgement {
    const pValues: Record<string, number> = {};
    let broken = false;
    this.ruleHeads.forEach((h, k) => {
      const s = h.sign * raw[h.name]![i]!;
      broken ||= Number.isNaN(s);
      const p = h.reference.pValue(s);
      this.p[k] = p;
      pValues[h.name] = p;
    });
    const statistic = this.combiner.statistic(this.p);
    // A head's NaN (a broken frame's score) is flagged: an unusable score is not evidence of ID.
    const flagged = statistic <= this.threshold || broken;
    return { flagged, score: statistic, idScore: statistic, pValue: this.reference.pValue(statistic), pValues };
  }

  /** "fisher(gaia_z, energy) ≤ −7.31": when a frame is flagged, in words. */
  describe(): string {
    return `${this.combine}(${this.heads.join(', ')}) ≤ ${this.threshold.toPrecision(4)}`;
  }
}

/**
 * One head's calibrated threshold (model.verdictHead): flagged as that head alone flags; its
 * p-value comes from its reference scores when the calibration has them.
 */
export class HeadJudge implements Judge {
  readonly heads: readonly string[];

  constructor(
    readonly name: string,
    private readonly calibration: { readonly sign: 1 | -1; readonly threshold: number; readonly rawThreshold: number; readonly flagRate: number },
    private readonly reference?: ReferenceScores,
  ) {
    this.heads = [name];
  }

  get rawThreshold(): number {
    return this.calibration.rawThreshold;
  }

  get flagRate(): number {
    return this.calibration.flagRate;
  }

  get referenceSize(): number | undefined {
    return this.reference?.size;
  }

  judge(raw: Readonly<Record<string, ArrayLike<number>>>, i: number): Judgement {
    const score = raw[this.name]![i]!;
    const s = this.calibration.sign * score;
    // NaN compares false: flag it, as the rule does.
    const flagged = Number.isNaN(s) || s <= this.calibration.threshold;
    if (!this.reference) return { flagged, score, idScore: s };
    const p = this.reference.pValue(s);
    return { flagged, score, idScore: s, pValue: p, pValues: { [this.name]: p } };
  }

  describe(): string {
    return `${this.name === 'gaia_z' ? 'GAIA-Z' : this.name} ${this.calibration.sign < 0 ? '≥' : '≤'} ${this.rawThreshold.toPrecision(4)}`;
  }
}

/** Sorted floats as base64 (little-endian), so a calibration file stays small and exact. */
export function encodeFloats(values: Float64Array | Float32Array, kind: 'f32' | 'f64'): string {
  const typed = kind === 'f32' ? Float32Array.from(values) : Float64Array.from(values);
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
}

/** The inverse of encodeFloats; undefined when the text is not a whole number of floats of that kind. */
export function decodeFloats(text: string, kind: 'f32' | 'f64'): Float64Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  const width = kind === 'f32' ? 4 : 8;
  if (bytes.length === 0 || bytes.length % width !== 0) return undefined;
  const copy = new Uint8Array(bytes);
  return Float64Array.from(kind === 'f32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer));
}
