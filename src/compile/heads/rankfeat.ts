/**
 * RankFeat (Song et al. 2022): remove the rank-1 component σ₁u₁v₁ᵀ of each sample's last
 * feature map, seen as a [C, H·W] matrix, then Energy of the logits the rest gives (higher =
 * more in-distribution). σ₁u₁v₁ᵀ comes from power iteration unrolled in the graph, as the
 * official code's SVD substitute; its error against an exact SVD is measured in
 * test/compile/baselines-parity.test.ts (docs/COMPILER.md).
 */
import { attr, type Graph } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import { replayForward } from '../replay.js';

/** Power-iteration steps. */
export const RANKFEAT_ITERATIONS = 20;

export function rankFeatHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, features: FeatureParts): string {
  const fm = features.lastFeatureMap;
  const shape = b.shapeOf(fm);
  const channels = shape?.[1];
  if (!shape || shape.length !== 4 || typeof channels !== 'number') {
    throw new GaiaError(ErrorCodes.BAD_HEAD, `rankfeat needs a 4-D last feature map with a static channel count, got [${shape?.join(',') ?? '?'}] at "${fm}"`);
  }
  const x = b.op1('Reshape', [fm, b.ints([0, channels, -1])], [], 'rankfeat_matrix'); // [B, C, HW]
  const xt = b.op1('Transpose', [x], [attr.ints('perm', [0, 2, 1])]); // [B, HW, C]
  // A deterministic start: the row sums (X·1), never orthogonal to u₁ for a non-negative X.
  let u = normalise(b, b.reduce('ReduceSum', x, [2], true)); // [B, C, 1]
  let v = u;
  let xv = u;
  for (let k = 0; k < RANKFEAT_ITERATIONS; k++) {
    v = normalise(b, b.op1('MatMul', [xt, u])); // [B, HW, 1]
    xv = b.op1('MatMul', [x, v]); // [B, C, 1]
    u = normalise(b, xv);
  }
  // σ₁ = uᵀXv; σ₁u = (uuᵀ)Xv, whose norm is σ₁ once u has converged to Xv's direction.
  const sigma = b.reduce('ReduceSum', b.op1('Mul', [u, xv]), [1], true); // [B, 1, 1]
  const rank1 = b.op1('MatMul', [b.op1('Mul', [u, sigma]), b.op1('Transpose', [v], [attr.ints('perm', [0, 2, 1])])]);
  const rest = b.op1('Reshape', [b.op1('Sub', [x, rank1]), b.op1('Shape', [fm])], [], 'rankfeat_features');
  const logits = replayForward(graph, b, new Map([[fm, rest]]), cls.logits);
  return b.reduce('ReduceLogSumExp', logits, [1], false);
}

/** v / (‖v‖ + 1e-10) along axis 1, as the official _l2normalize. */
function normalise(b: GraphBuilder, v: string): string {
  const norm = b.op1('Sqrt', [b.reduce('ReduceSum', b.op1('Mul', [v, v]), [1], true)]);
  return b.op1('Div', [v, b.op1('Add', [norm, b.scalar(1e-10)])]);
}
