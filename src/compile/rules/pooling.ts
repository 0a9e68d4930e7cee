/**
 * Pooling and mean reductions.
 * MaxPool: https://onnx.ai/onnx/operators/onnx__MaxPool.html — the gradient goes to the
 * arg-max of each window (the first maximum in scan order, as PyTorch and onnxruntime
 * pick it); overlapping windows accumulate, hence ScatterElements with reduction "add".
 * AveragePool: https://onnx.ai/onnx/operators/onnx__AveragePool.html — each window spreads
 * its gradient evenly; the divisor per window follows count_include_pad.
 */
import { attr, attrInt, attrInts, describeNode } from '../../onnx/graph.js';
import { windowGeometry } from '../../onnx/window-geometry.js';
import { axesOf } from '../../onnx/op-params.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { convInputGrad, staticSpatial } from './conv.js';
import { g0, type VjpRule } from './types.js';

function unsupported(ctx: Parameters<VjpRule>[0], why: string): never {
  throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(ctx.node)} ${why}`, { node: ctx.node.name });
}

const maxPool: VjpRule = (ctx) => {
  const { b, node } = ctx;
  if (b.opset < 16) {
    unsupported(ctx, `needs ScatterElements with reduction "add" for its gradient (opset ≥ 16), but the model imports opset ${b.opset}; re-export with opset_version=17`);
  }
  if (attrInt(node, 'storage_order', 0) !== 0) unsupported(ctx, 'uses storage_order=1 (column-major indices); only row-major is supported');
  const x = node.inputs[0]!;
  const indices = b.op('MaxPool', [x], node.attributes.filter((a) => a.name !== 'storage_order'), 2, 'maxpool_argmax')[1]!;
  const flat = b.ints([-1]);
  const zeros = b.filled(b.unsqueeze(b.op1('Size', [x]), [0]), 0);
  const scattered = b.op1('ScatterElements', [
    zeros,
    b.op1('Reshape', [indices, flat]),
    b.op1('Reshape', [g0(ctx), flat]),
  ], [attr.int('axis', 0), attr.string('reduction', 'add')], 'maxpool_grad');
  return [b.reshapeLike(scattered, x)];
};

const averagePool: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const kernel = attrInts(node, 'kernel_shape')!;
  if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1)) unsupported(ctx, 'uses dilations; dilated average pooling is not supported');
  const geo = windowGeometry(node, kernel, staticSpatial(ctx, x));
  const n = kernel.length;
  const includePad = attrInt(node, 'count_include_pad', 0) === 1;
  // Divisor of each output window, per spatial axis, then as an outer product.
  const perAxis = geo.outSize.map((out, i) =>
    Array.from({ length: out }, (_, o) => {
      const start = o * geo.strides[i]! - geo.pads[i]!;
      const end = Math.min(start + kernel[i]!, geo.inSize[i]! + geo.pads[i + n]!);
      return includePad ? end - start : Math.min(end, geo.inSize[i]!) - Math.max(start, 0);
    }),
  );
  const count = geo.outSize.reduce((a, c) => a * c, 1);
  const inv = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    let rest = k;
    let div = 1;
    for (let i = n - 1; i >= 0; i--) {
      div *= perAxis[i]![rest % geo.outSize[i]!]!;
      rest = Math.floor(rest / geo.outSize[i]!);
    }
    inv[k] = 1 / div;
  }
  const channels = ctx.shape(x)[1];
  if (typeof channels !== 'number') unsupported(ctx, 'has a dynamic channel count');
  const scaled = b.op1('Mul', [g0(ctx), b.floatTensor('avgpool_inv_count', [1, 1, ...geo.outSize], inv)]);
  const ones = b.floatTensor('avgpool_ones', [channels, 1, ...kernel], new Float32Array(channels * kernel.reduce((a, c) => a * c, 1)).fill(1));
  // A depthwise all-ones ConvTranspose scatters each window's share back over the window.
  const onesGeo = { ...geo, dilations: new Array<number>(n).fill(1) };
  return [convInputGrad(b, scaled, ones, channels, onesGeo)];
};

const globalAveragePool: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const area = staticSpatial(ctx, x).reduce((a, c) => a * c, 1);
  const scaled = b.op1('Mul', [g0(ctx), b.scalar(1 / area)]);
  return [b.op1('Expand', [scaled, b.op1('Shape', [x])], [], 'gap_grad')];
};

function meanOrSum(scaleByCount: boolean): VjpRule {
  return (ctx) => {
    const { b, node } = ctx;
    const x = node.inputs[0]!;
    const xs = ctx.shape(x);
    const axesAsInput = node.opType === 'ReduceSum' || b.opset >= 18;
    const given = axesAsInput ? axesOf(node, b.info.constants) : attrInts(node, 'axes');
    const axes = (given ?? xs.map((_, i) => i)).map((a) => (a < 0 ? a + xs.length : a)).sort((p, q) => p - q);
    let g = g0(ctx);
    if (attrInt(node, 'keepdims', 1) === 0) g = b.unsqueeze(g, axes);
    if (scaleByCount) {
      const count = axes.reduce((acc, a) => {
        const d = xs[a];
        return typeof d === 'number' ? acc * d : unsupported(ctx, `reduces over the dynamic axis ${a}`);
      }, 1);
      g = b.op1('Mul', [g, b.scalar(1 / count)]);
    }
    return [b.op1('Expand', [g, b.op1('Shape', [x])], [], 'reduce_grad')];
  };
}

export const poolingRules: Record<string, VjpRule> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  ReduceMean: meanOrSum(true),
  ReduceSum: meanOrSum(false),
};
