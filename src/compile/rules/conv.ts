/**
 * Input gradient of Conv. https://onnx.ai/onnx/operators/onnx__Conv.html
 *
 * The gradient of a convolution with respect to its input is the transposed convolution
 * with the same weights. Runtimes optimise Conv far more than ConvTranspose, and for
 * stride 1 the transposed convolution is itself a convolution: weights swapped in the
 * channel axes (per group) and flipped spatially, padding d·(k−1)−p. That form is used
 * wherever it is exact; strided convolutions use ConvTranspose with an explicit
 * output_padding that restores the input size. (A polyphase form, s² stride-1 Convs
 * interleaved by DepthToSpace, measured no faster on onnxruntime CPU: docs/BENCHMARKS.md.)
 */
import { attr, attrInt, describeNode } from '../../onnx/graph.js';
import { windowGeometry, type WindowGeometry } from '../../onnx/window-geometry.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { Tensor } from '../../onnx/tensor.js';
import type { GraphBuilder } from '../builder.js';
import { g0, type VjpRule } from './types.js';

export function staticSpatial(ctx: Parameters<VjpRule>[0], name: string): number[] {
  return ctx.shape(name).slice(2).map((d) => {
    if (typeof d !== 'number') {
      throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(ctx.node)}: spatial size of "${name}" must be static, got ${d}`, {
        node: ctx.node.name,
      });
    }
    return d;
  });
}

/** Weights of the convolution that computes the stride-1 input gradient. */
export function flippedTransposedWeights(w: Tensor, group: number): { dims: number[]; data: Float32Array } {
  const [cout, cinPerGroup, ...kernel] = w.dims as number[];
  const src = w.toFloat32();
  const spatial = kernel.reduce((a, b) => a * b, 1);
  const coutPerGroup = cout! / group;
  const cin = cinPerGroup! * group;
  const out = new Float32Array(src.length);
  for (let g = 0; g < group; g++) {
    for (let o = 0; o < coutPerGroup; o++) {
      for (let i = 0; i < cinPerGroup!; i++) {
        const from = ((g * coutPerGroup + o) * cinPerGroup! + i) * spatial;
        const to = ((g * cinPerGroup! + i) * coutPerGroup + o) * spatial;
        // Reversing the flattened kernel flips every spatial axis at once.
        for (let s = 0; s < spatial; s++) out[to + s] = src[from + spatial - 1 - s]!;
      }
    }
  }
  return { dims: [cin, coutPerGroup, ...kernel], data: out };
}

export function convInputGrad(b: GraphBuilder, gy: string, weight: string, group: number, geo: WindowGeometry): string {
  const n = geo.kernel.length;
  const w = b.constant(weight);
  const reach = geo.kernel.map((k, i) => geo.dilations[i]! * (k - 1));
  const stride1 = geo.strides.every((s) => s === 1);
  const padsFit = geo.pads.every((p, i) => p <= reach[i % n]!);
  if (stride1 && padsFit && w) {
    const flipped = flippedTransposedWeights(w, group);
    const pads = geo.pads.map((p, i) => reach[i % n]! - p);
    return b.op1('Conv', [gy, b.floatTensor('conv_grad_weight', flipped.dims, flipped.data)], [
      attr.ints('dilations', geo.dilations),
      attr.int('group', group),
      attr.ints('kernel_shape', geo.kernel),
      attr.ints('pads', pads),
      attr.ints('strides', geo.strides),
    ], 'conv_grad');
  }
  const outputPadding = geo.inSize.map(
    (size, i) => size - ((geo.outSize[i]! - 1) * geo.strides[i]! + reach[i]! + 1 - geo.pads[i]! - geo.pads[i + n]!),
  );
  return b.op1('ConvTranspose', [gy, weight], [
    attr.ints('dilations', geo.dilations),
    attr.int('group', group),
    attr.ints('kernel_shape', geo.kernel),
    attr.ints('output_padding', outputPadding),
    attr.ints('pads', geo.pads),
    attr.ints('strides', geo.strides),
  ], 'conv_grad_t');
}

const conv: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const weight = node.inputs[1]!;
  if (ctx.needsGrad[1] || ctx.needsGrad[2]) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${describeNode(node)} computes its weights or bias from the input; only constant weights are supported`,
      { node: node.name },
    );
  }
  const kernel = staticSpatial(ctx, weight);
  const geo = windowGeometry(node, kernel, staticSpatial(ctx, x));
  return [convInputGrad(b, g0(ctx), weight, attrInt(node, 'group', 1), geo)];
};

export const convRules: Record<string, VjpRule> = { Conv: conv };
