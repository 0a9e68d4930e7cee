/**
 * GradNorm (Huang et al. 2021): ‖∂ KL(u ‖ softmax(y)) / ∂W‖₁ for the final linear layer's
 * weights W, per sample (higher = more in-distribution). With y = W f + b and uniform u,
 * ∂KL/∂y = softmax(y) − 1/C, so ∂KL/∂W = (softmax(y) − 1/C) fᵀ is an outer product and its
 * L1 norm is ‖softmax(y) − 1/C‖₁ · ‖f‖₁: no backward pass, so it batches (the paper could
 * only run it at batch 1). As the official code, the bias gradient is not counted and T = 1.
 */
import { attr, attrFloat, type Graph } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import { sampleAxes } from './common.js';

export function gradNormHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, features: FeatureParts): string {
  const probs = b.op1('Softmax', [cls.logits], [attr.int('axis', 1)]);
  const deviation = b.reduce('ReduceL1', b.op1('Sub', [probs, b.scalar(1 / cls.numClasses)]), [1], false);
  const featureNorm = b.reduce('ReduceL1', features.penultimate, sampleAxes(b, features.penultimate), false);
  const norm = b.op1('Mul', [deviation, featureNorm], [], 'gradnorm');
  // Gemm computes alpha·A·B: its weight gradient carries |alpha| too.
  const linear = graph.nodes.find((n) => n.opType === 'Gemm' && n.inputs[0] === features.penultimate);
  const alpha = linear ? Math.abs(attrFloat(linear, 'alpha', 1)) : 1;
  return alpha === 1 ? norm : b.op1('Mul', [norm, b.scalar(alpha)]);
}
