/**
 * GEN (Liu et al. 2023, "GEN: Pushing the Limits of Softmax-Based Out-of-Distribution
 * Detection"): the generalized entropy Σ p^γ (1 − p)^γ over the M largest softmax
 * probabilities, negated as the official code does (higher = more in-distribution), with the
 * paper's γ = 0.1 and M = 100 (all classes when the model has fewer).
 */
import { attr } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts } from '../classifier.js';

export const GEN_GAMMA = 0.1;
export const GEN_TOP_M = 100;

export function genHead(b: GraphBuilder, cls: ClassifierParts): string {
  const m = Math.min(GEN_TOP_M, cls.numClasses);
  const probs = b.op1('Softmax', [cls.logits], [attr.int('axis', 1)]);
  const top = m === cls.numClasses ? probs : b.op('TopK', [probs, b.ints([m])], [attr.int('axis', 1), attr.int('largest', 1), attr.int('sorted', 1)], 2)[0]!;
  const gamma = b.scalar(GEN_GAMMA);
  const terms = b.op1('Mul', [b.op1('Pow', [top, gamma]), b.op1('Pow', [b.op1('Sub', [b.scalar(1), top]), gamma])]);
  return b.op1('Neg', [b.reduce('ReduceSum', terms, [1], false)], [], 'gen');
}
