/** Small graph idioms the score heads share. */
import type { Shape } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';

/** The position axes of a tensor: every axis but the batch and the channels. */
export const spatialAxes = (shape: Shape, channelAxis = 1) => shape.map((_, i) => i).filter((i) => i > 0 && i !== channelAxis);

/** mean_k x[b,k]²: the GAIA aggregation of a [batch, K] tensor. */
export function meanSquare(b: GraphBuilder, x: string): string {
  return b.reduce('ReduceMean', b.op1('Mul', [x, x]), [1], false);
}

/** Every axis but the batch, for reducing a per-sample tensor of any rank to [batch]. */
export function sampleAxes(b: GraphBuilder, x: string): number[] {
  const rank = b.shapeOf(x)?.length ?? 2;
  return Array.from({ length: rank - 1 }, (_, i) => i + 1);
}
