/**
 * Pattern of a Conv's input gradient. https://onnx.ai/onnx/operators/onnx__Conv.html
 *
 * dX[i, p] = Σ_o Σ_j W[o, i, j] · dY[o, p − j] (strides, pads, dilations as the attributes
 * say). Barring an exact floating-point cancellation, it is non-zero exactly where some
 * term is: W[o, i, j] ≠ 0 and dY[o, p − j] ≠ 0.
 * - Every weight of a group non-zero: the pattern is the same for every input channel of
 *   the group, the OR over the group's output channels spread by the kernel's footprint.
 *   That costs one channel (per group) instead of C_in × C_out: a ReduceMax over the
 *   channels, then the transposed footprint as an all-ones convolution of one channel.
 * - Some weights zero (pruned or quantised models): the same transposed convolution with
 *   the weights replaced by their non-zero indicator (a binary convolution); its counts
 *   are positive exactly where a term is non-zero.
 */
import { attrInt, describeNode } from '../../onnx/graph.js';
import { windowGeometry, type WindowGeometry } from '../../onnx/window-geometry.js';
import { convInputGrad, staticSpatial } from '../rules/conv.js';
import { fromCount, nonZeroConstant } from './binary.js';
import type { PatternContext, PatternRule } from './types.js';

/** Whether every weight of every group is non-zero (the shared-footprint shortcut is exact). */
function denseWeights(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] === 0) return false;
  return true;
}

/**
 * The transposed footprint of the kernel as an all-ones convolution with one channel per
 * group (rules/conv.ts picks Conv for stride 1, ConvTranspose otherwise), counts → 0/1.
 */
function spread(ctx: PatternContext, p: string, channels: number, kernel: number[], geo: WindowGeometry): string {
  const { b } = ctx;
  const size = channels * kernel.reduce((a, c) => a * c, 1);
  const ones = b.floatTensor('pattern_footprint', [channels, 1, ...kernel], new Float32Array(size).fill(1));
  const counts = convInputGrad(b, p, ones, channels, geo);
  // The stride-1 form bakes its own (flipped) copy of the weights.
  if (!b.nodes.some((n) => n.inputs.includes(ones))) b.initializers.delete(ones);
  return fromCount(b, counts);
}

const emit = (ctx: PatternContext): Array<string | undefined> => {
  const { b, node } = ctx;
  const [x, weight] = node.inputs as [string, string];
  const w = b.constant(weight)!;
  const kernel = staticSpatial(ctx, weight);
  const geo = windowGeometry(node, kernel, staticSpatial(ctx, x));
  const group = attrInt(node, 'group', 1);
  const xShape = ctx.shape(x);
  const yShape = ctx.shape(node.outputs[0]!);
  const [cout, cinPerGroup] = w.dims as [number, number];
  const coutPerGroup = cout / group;
  let p = ctx.gradOutputs[0]!;
  let ps = ctx.patternShape(p);
  // The footprint needs the output's real spatial extent (a pattern from a global pool
  // broadcasts over it).
  if (ps.slice(2).some((d, i) => d !== yShape[2 + i])) {
    p = b.op1('Expand', [p, b.op1('Shape', [node.outputs[0]!])]);
    ps = yShape;
  }

  if (!denseWeights(w.toFloat32())) {
    if (ps[1] === 1) p = b.op1('Expand', [p, b.op1('Shape', [node.outputs[0]!])]);
    const binary = nonZeroConstant(b, w, 'pattern_conv_weight');
    return [fromCount(b, convInputGrad(b, p, binary, group, geo))];
  }

  if (group === 1) {
    const any = ps[1] === 1 ? p : b.reduce('ReduceMax', p, [1], true);
    const shared = spread(ctx, any, 1, kernel, geo);
    ctx.setPatternShape(shared, [xShape[0]!, 1, ...xShape.slice(2)]);
    return [shared];
  }
  // Grouped and depthwise: OR within each group, one footprint channel per group.
  if (ps[1] === 1) p = b.op1('Expand', [p, b.op1('Shape', [node.outputs[0]!])]);
  const spatialOut = yShape.slice(2) as number[];
  const spatialIn = xShape.slice(2) as number[];
  let perGroup = p;
  if (coutPerGroup > 1) {
    const grouped = b.op1('Reshape', [p, b.ints([0, group, coutPerGroup, ...spatialOut])]);
    perGroup = b.reduce('ReduceMax', grouped, [2], false);
  }
  const perGroupIn = spread(ctx, perGroup, group, kernel, geo);
  if (cinPerGroup === 1) return [perGroupIn];
  const expanded = b.op1('Expand', [b.unsqueeze(perGroupIn, [2]), b.ints([1, 1, cinPerGroup, ...spatialIn.map(() => 1)])]);
  return [b.op1('Reshape', [expanded, b.ints([0, group * cinPerGroup, ...spatialIn])])];
};

export const convPatternRules: Record<string, PatternRule> = {
  Conv: {
    broadcastOk: true,
    check: ({ b, node, needsGrad }) => {
      if (needsGrad[1] || needsGrad[2] || !b.constant(node.inputs[1]!)) return `${describeNode(node)} has non-constant weights`;
      return undefined;
    },
    emit,
  },
};
