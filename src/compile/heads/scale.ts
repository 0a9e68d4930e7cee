/**
 * SCALE (Xu et al. 2024, "Scaling for Training Time and Post-hoc Out-of-distribution
 * Detection Enhancement"): activation shaping of the penultimate features a, without
 * pruning: r = Σ a / Σ of the activations above the p-th percentile (the top
 * k = D − round(D·p/100) of them, as the official code), features a·e^r, then the energy
 * logsumexp of the logits they give (higher = more in-distribution). The classifier's tail
 * is replayed on the shaped features. p = 85 (the paper's ImageNet setting).
 */
import { attr, type Graph } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import { replayForward } from '../replay.js';

export const DEFAULT_SCALE_PERCENTILE = 85;

/** numpy's round: halves to even, as the official int(np.round(n * p / 100)). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** How many of `dim` activations lie above the percentile (at least one). */
export function scaleTopCount(dim: number, percentile: number): number {
  return Math.max(1, dim - roundHalfEven((dim * percentile) / 100));
}

export function scaleHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, features: FeatureParts, percentile = DEFAULT_SCALE_PERCENTILE): string {
  const dim = b.shapeOf(features.penultimate)?.[1];
  if (typeof dim !== 'number' || !(percentile >= 0 && percentile < 100)) {
    throw new GaiaError(ErrorCodes.BAD_HEAD, `scale: needs [batch, D] penultimate features with a static D and a percentile in [0, 100), got D = ${dim} and p = ${percentile}`);
  }
  const a = features.penultimate;
  const [top] = b.op('TopK', [a, b.ints([scaleTopCount(dim, percentile)])], [attr.int('axis', 1), attr.int('largest', 1), attr.int('sorted', 1)], 2);
  const topSum = b.reduce('ReduceSum', top!, [1], true);
  // All-zero features (a dead frame through ReLUs) would make r = 0/0 = NaN, as in the official code;
  // any finite r leaves zero features zero, so divide by 1 there and score the frame instead.
  const safeTopSum = b.op1('Where', [b.op1('Equal', [topSum, b.scalar(0)]), b.scalar(1), topSum]);
  const ratio = b.op1('Div', [b.reduce('ReduceSum', a, [1], true), safeTopSum]);
  const shaped = b.op1('Mul', [a, b.op1('Exp', [ratio])], [], 'scale_shaped');
  const logits = replayForward(graph, b, new Map([[a, shaped]]), cls.logits);
  return b.reduce('ReduceLogSumExp', logits, [1], false);
}
