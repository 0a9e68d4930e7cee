/**
 * GAIA-A (the official cal_grad_value, docs/DEFINITIONS.md) and its fusion variants of the paper's
 * Table 3 (supplementary §F). With inner[b,k] = |spatial mean of ∂(Σ pooled penultimate)/∂A^kl|
 * over the taps of the last two stages and E_out[b] = mean_c |spatial mean of
 * ∂(Σ_c log softmax y_c)/∂A_last| (so the official o = √E_out):
 *   gaia_a          mean_k (inner / E_out^0.5)²    fusion, q = 0.5 (the default)
 *   gaia_a_q1       mean_k (inner / E_out)²        q = 1
 *   gaia_a_q2       mean_k (inner / E_out²)²       q = 2
 *   gaia_a_inner    mean_k inner²                  w/o fusion, inner only
 *   gaia_a_output   1 / E_out                      w/o fusion, output only (inner ≡ 1)
 *   gaia_a_direct   mean_k |spatial mean of ∂(Σ_c y_c)/∂A^kl|²   "direct from Eq. 10"
 *   gaia_a_top1     mean_k |spatial mean of ∂(max_c y_c)/∂A^kl|²  w/o fusion, top-1 label
 * All: higher = more out-of-distribution.
 */
import { attr, type Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import { backward } from '../backward.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import { lastStages, type Tap } from '../taps.js';
import { meanSquare, spatialAxes } from './common.js';

export const GAIA_A_VARIANTS = ['gaia_a', 'gaia_a_q1', 'gaia_a_q2', 'gaia_a_inner', 'gaia_a_output', 'gaia_a_direct', 'gaia_a_top1'] as const;
export type GaiaAVariant = (typeof GAIA_A_VARIANTS)[number];

export interface GaiaAOutputs {
  readonly scores: Map<GaiaAVariant, string>;
  /** The official o = √E_out, when a fused variant computed it. */
  readonly o?: string;
}

export function gaiaAHeads(
  graph: Graph,
  b: GraphBuilder,
  cls: ClassifierParts,
  features: FeatureParts,
  taps: readonly Tap[],
  wanted: readonly GaiaAVariant[],
): GaiaAOutputs {
  const scores = new Map<GaiaAVariant, string>();
  const innerTaps = lastStages(taps, 2);
  // |spatial mean| of each inner tap's gradient under a seed at `tensor`, concatenated over taps.
  const innerOf = (tensor: string, seed: string, what: string) => {
    const grads = backward(graph, b, [{ tensor, grad: seed }], innerTaps.map((t) => t.tensor));
    const parts = innerTaps.map((t) => {
      const g = grads.get(t.tensor);
      if (!g) throw new GaiaError(ErrorCodes.BAD_HEAD, `gaia_a: tap "${t.tensor}" does not reach ${what}`, { node: t.node });
      return b.op1('Abs', [b.reduce('ReduceMean', g, spatialAxes(t.shape, t.channelAxis), false)]);
    });
    return parts.length === 1 ? parts[0]! : b.op1('Concat', parts, [attr.int('axis', 1)]);
  };

  const fused = wanted.filter((v) => v === 'gaia_a' || v === 'gaia_a_q1' || v === 'gaia_a_q2' || v === 'gaia_a_output');
  let o: string | undefined;
  if (fused.length > 0) {
    // d/dy Σ_c log_softmax(y)_c = 1 − C·softmax(y)
    const probs = b.op1('Softmax', [cls.logits], [attr.int('axis', 1)]);
    const seed1 = b.op1('Sub', [b.scalar(1), b.op1('Mul', [probs, b.scalar(cls.numClasses)])], [], 'gaia_a_seed');
    const fm = features.lastFeatureMap;
    const gLast = backward(graph, b, [{ tensor: cls.logits, grad: seed1 }], [fm]).get(fm)!;
    const channelMean = b.reduce('ReduceMean', gLast, spatialAxes(b.shapeOf(fm)!), false);
    o = b.op1('Sqrt', [b.reduce('ReduceMean', b.op1('Abs', [channelMean]), [1], false)], [], 'gaia_a_o');
    const o1 = b.unsqueeze(o, [1]);
    const eOut = b.op1('Mul', [o1, o1]);
    if (wanted.includes('gaia_a_output')) scores.set('gaia_a_output', b.op1('Squeeze', [b.op1('Reciprocal', [eOut]), b.ints([1])]));
    const divisors: Array<[GaiaAVariant, () => string]> = [
      ['gaia_a', () => o1],
      ['gaia_a_q1', () => eOut],
      ['gaia_a_q2', () => b.op1('Mul', [eOut, eOut])],
    ];
    if (divisors.some(([v]) => wanted.includes(v))) {
      const inner = innerOf(features.penultimate, b.onesLike(features.penultimate), 'the penultimate features');
      for (const [v, divisor] of divisors) if (wanted.includes(v)) scores.set(v, meanSquare(b, b.op1('Div', [inner, divisor()])));
      if (wanted.includes('gaia_a_inner')) scores.set('gaia_a_inner', meanSquare(b, inner));
    }
  }
  if (wanted.includes('gaia_a_inner') && !scores.has('gaia_a_inner')) {
    scores.set('gaia_a_inner', meanSquare(b, innerOf(features.penultimate, b.onesLike(features.penultimate), 'the penultimate features')));
  }
  if (wanted.includes('gaia_a_direct')) scores.set('gaia_a_direct', meanSquare(b, innerOf(cls.logits, b.onesLike(cls.logits), 'the logits')));
  if (wanted.includes('gaia_a_top1')) {
    const argmax = b.op1('ArgMax', [cls.logits], [attr.int('axis', 1), attr.int('keepdims', 0), attr.int('select_last_index', 0)]);
    const onOff = b.addInitializer('gaia_a_top1_values', (n) => Tensor.float32(n, [2], [0, 1]));
    const onehot = b.op1('OneHot', [argmax, b.ints([cls.numClasses]), onOff], [attr.int('axis', -1)]);
    scores.set('gaia_a_top1', meanSquare(b, innerOf(cls.logits, onehot, 'the logits')));
  }
  return o ? { scores, o } : { scores };
}
