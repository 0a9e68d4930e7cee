/**
 * Pattern of a Conv's input gradient. https://onnx.ai/onnx/operators/onnx__Conv.html
 *
 * dX[i, p] = Σ_o Σ_j W[o, i, j] · dY[o, p − j] (strides, pads, dilations as the attributes
 * say). Barring an exact floating-point cancellation, it is non-zero exactly where some
 * term is: W[o, i, j] ≠ 0 and dY[o, p − j] ≠ 0.
 * - Every weight of a group non-zero: the pattern is the same for every input channel of
 *   the group, the OR over the group's output channels spread by the kernel's footprint.
 *   That costs one channel (per group) instead of C_in × C_out: a ReduceMax over the
 *   channels, then the transposed footprint of the kernel, as a MaxPool (spread below).
 * - Some weights zero (pruned or quantised models): the transposed convolution of the
 *   pattern with the weights replaced by their non-zero indicator (a binary convolution);
 *   its counts are positive exactly where a term is non-zero. When the zeros touch only a
 *   few input channels (fewZeros), the shortcut for the others and the binary convolution
 *   for those.
 */
import { attr, attrInt, describeNode, type Shape } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { DataType } from '../../onnx/schema.js';
import { windowGeometry, type WindowGeometry } from '../../onnx/window-geometry.js';
import { convInputGrad, staticSpatial } from '../rules/conv.js';
import { fromCount, nonZeroConstant } from './binary.js';
import { blockedChannelOr, blockedShape, countToPattern, isBlocked, POOL_BLOCK } from './blocked.js';
import type { PatternContext, PatternRule } from './types.js';

/** Whether every weight of every group is non-zero (the shared-footprint shortcut is exact). */
function denseWeights(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] === 0) return false;
  return true;
}

/**
 * The transposed footprint of an all-ones kernel on a 0/1 pattern of `channels` channels
 * (one per group, or per channel for a depthwise Conv): the OR over the kernel taps that
 * reach each input position, as a MaxPool (max of 0/1 is the OR: no count, no Min, and
 * onnxruntime's pooling is far cheaper than a grouped ConvTranspose or a one-channel Conv).
 * Zero weights never get here. Per spatial axis, output o reaches the inputs
 * o·s − pad + j·d, j < k:
 * - stride 1: a k-tap window (dilation d) over P, shifted by reach − pad (reach = d·(k − 1));
 * - stride s ≤ k, no dilation: o paints the box [o·s − pad, o·s − pad + k). A nearest
 *   upsampling by s paints [o·s, o·s + s) and a (k − s + 1)-tap window widens it to k;
 * - otherwise: P zero-interleaved (upsampled, times 1 at multiples of s), then as stride 1.
 * A window of one tap is no MaxPool at all (a 1×1 Conv's footprint is the pattern itself).
 */
function spread(ctx: PatternContext, p: string, channels: number, geo: WindowGeometry): string {
  const { b } = ctx;
  const n = geo.kernel.length;
  const { strides, dilations, kernel, outSize } = geo;
  const strided = strides.some((s) => s > 1);
  const boxes = strided && dilations.every((d) => d === 1) && kernel.every((k, i) => k >= strides[i]!);
  // A blocked per-channel pattern stays blocked through the nearest Resize and the window.
  const blocked = isBlocked(ctx, p) && channels > 1 && (!strided || boxes);
  let u = p;
  if (strided) {
    const scales = b.floatTensor('pattern_upsample', [2 + n], Float32Array.from([1, 1, ...strides]));
    u = b.op1('Resize', [p, '', scales], [
      attr.string('mode', 'nearest'),
      attr.string('coordinate_transformation_mode', 'asymmetric'),
      attr.string('nearest_mode', 'floor'),
    ], 'pattern_upsample');
    if (!boxes) {
      const spatial = outSize.map((d, i) => d * strides[i]!);
      const size = spatial.reduce((a, c) => a * c, 1);
      const at = Float32Array.from({ length: size }, (_, flat) => {
        let rest = flat;
        for (let i = n - 1; i >= 0; i--) {
          if ((rest % spatial[i]!) % strides[i]! !== 0) return 0;
          rest = Math.floor(rest / spatial[i]!);
        }
        return 1;
      });
      u = b.op1('Mul', [u, b.floatTensor('pattern_interleave', [1, 1, ...spatial], at)]);
    }
  }
  const window = boxes ? kernel.map((k, i) => k - strides[i]! + 1) : kernel;
  const reach = window.map((k, i) => dilations[i]! * (k - 1));
  const left = reach.map((r, i) => r - geo.pads[i]!);
  const right = geo.inSize.map((size, i) => size - outSize[i]! * strides[i]! + geo.pads[i]!);
  // onnxruntime's MaxPool takes pads in [0, window); the rest is padding (zeros: no term)
  // or cropping of its output. Not of its input: onnxruntime fuses a Pad into the pool.
  const inPool = (q: number, i: number) => Math.min(Math.max(q, 0), window[i % n]! - 1);
  const poolPads = [...left, ...right].map(inPool);
  const rest = [...left, ...right].map((q, i) => q - poolPads[i]!);
  const pooled = window.every((k) => k === 1)
    ? u
    : blocked && channels % POOL_BLOCK !== 0
      ? footprintConv(ctx, u, channels, window, dilations, poolPads)
      : b.op1('MaxPool', [u], [
        attr.ints('kernel_shape', window),
        attr.ints('dilations', dilations),
        attr.ints('pads', poolPads),
        attr.ints('strides', new Array<number>(n).fill(1)),
      ], 'pattern_footprint');
  if (rest.some((q) => q !== 0)) return b.pad(pooled, [0, 0, ...rest.slice(0, n), 0, 0, ...rest.slice(n)]);
  if (blocked) {
    ctx.blockedTensors?.add(pooled);
    b.declared.set(pooled, [ctx.patternShape(p)[0]!, channels, ...geo.inSize]);
  }
  return pooled;
}

/**
 * The footprint window as a depthwise Conv of ones (counts of 0/1, clamped to 1) instead of
 * a MaxPool: onnxruntime keeps a Conv blocked for any channel count, a MaxPool only for a
 * multiple of its block, and converting back and forth costs two full copies.
 */
function footprintConv(ctx: PatternContext, u: string, channels: number, window: number[], dilations: number[], pads: number[]): string {
  const { b } = ctx;
  const size = window.reduce((a, k) => a * k, 1);
  const ones = b.floatTensor('pattern_footprint_ones', [channels, 1, ...window], new Float32Array(channels * size).fill(1));
  const count = b.op1('Conv', [u, ones], [
    attr.int('group', channels),
    attr.ints('kernel_shape', window),
    attr.ints('dilations', dilations),
    attr.ints('pads', pads),
  ], 'pattern_footprint_count');
  return countToPattern(b, count, 'pattern_footprint');
}

/**
 * The sum over the channels of a non-negative [B, C, spatial...] tensor, [B, 1, spatial...],
 * as a MatMul of ones[1, C] with [B, C, P]: onnxruntime's GEMM reads it 2–9x faster than
 * its ReduceMax or ReduceSum over the channel axis (`node dist/bench/channel-or.js`). A sum
 * of non-negative floats is positive exactly where one of its terms is (each partial sum is
 * at least every term in it), so it serves as an OR. Undefined for a dynamic shape.
 */
function channelSum(ctx: PatternContext, x: string, shape: Shape): string | undefined {
  const { b } = ctx;
  const [, channels, ...spatial] = shape;
  if (typeof channels !== 'number' || !spatial.every((d): d is number => typeof d === 'number')) return undefined;
  const size = spatial.reduce((a, d) => a * d, 1);
  const ones = b.floatTensor('pattern_channel_ones', [1, channels], new Float32Array(channels).fill(1));
  const sum = b.op1('MatMul', [ones, b.op1('Reshape', [x, b.ints([0, channels, size])])], [], 'pattern_channel_sum');
  return b.op1('Reshape', [sum, b.ints([0, 1, ...spatial])]);
}

/**
 * OR over the channels of a 0/1 pattern, [B, 1, spatial...]: its count over the channels,
 * capped at 1. For a ReLU's factored pattern mask(c, p) AND shared(p) that is shared(p) AND
 * (the sum over c of the ReLU's output > 0): a reduction of a tensor the forward pass has
 * anyway, instead of the full-size product's.
 */
function channelOr(ctx: PatternContext, p: string): string {
  const { b } = ctx;
  const f = ctx.factorsOf?.(p);
  const ps = ctx.patternShape(p);
  if (!f && isBlocked(ctx, p) && blockedShape(ps)) return blockedChannelOr(b, p, ps[1] as number);
  if (!f) {
    const count = channelSum(ctx, p, ctx.patternShape(p));
    return count ? fromCount(b, count) : b.reduce('ReduceMax', p, [1], true);
  }
  const total = channelSum(ctx, f.positive, ctx.shape(f.positive)) ?? b.reduce('ReduceMax', f.positive, [1], true);
  const positive = b.op1('Greater', [total, b.scalar(0)]);
  return b.op1('Mul', [f.shared, b.op1('Cast', [positive], [attr.int('to', DataType.FLOAT)])], [], 'pattern_any');
}

/** A dense Conv whose zero weights touch at most 1/FEW_ZEROS_SHARE of its input channels takes fewZeros. */
const FEW_ZEROS_SHARE = 4;

/** The input channels of a group-1 Conv that read at least one zero weight. */
function channelsReadingZeros(weights: Float32Array, cin: number, kernelSize: number): number[] {
  const dirty = new Set<number>();
  for (let i = 0; i < weights.length; i++) if (weights[i] === 0) dirty.add(Math.floor(i / kernelSize) % cin);
  return [...dirty].sort((x, y) => x - y);
}

/**
 * A dense Conv with a few zero weights (a trained or randomly initialised net can have a
 * handful; BN folding of a γ = 0 channel gives a zero slice): the shared footprint is exact
 * for every input channel that reads no zero weight, and only the channels that do need
 * the binary convolution, restricted to them (cost ∝ their number, not C_in). The result
 * is full-size: the shared pattern where clean, the binary one embedded (a 1×1 selection
 * Conv: one 0/1 term per output) where not.
 */
function fewZeros(ctx: PatternContext, p: string, ps: Shape, dims: number[], weights: Float32Array, dirty: number[], geo: WindowGeometry): string {
  const { b, node } = ctx;
  const [x] = node.inputs as [string];
  const xShape = ctx.shape(x);
  const [cout, cin, ...kernel] = dims as [number, number, ...number[]];
  const kernelSize = kernel.reduce((a, k) => a * k, 1);
  const shared = spread(ctx, ps[1] === 1 ? p : channelOr(ctx, p), 1, geo);
  const full = ps[1] === 1 ? b.op1('Expand', [p, b.op1('Shape', [node.outputs[0]!])]) : p;
  const sub = new Float32Array(cout * dirty.length * kernelSize);
  for (let o = 0; o < cout; o++) {
    dirty.forEach((i, j) => sub.set(weights.subarray((o * cin + i) * kernelSize, (o * cin + i + 1) * kernelSize), (o * dirty.length + j) * kernelSize));
  }
  const binary = nonZeroConstant(b, Tensor.float32('pattern_conv_weight', [cout, dirty.length, ...kernel], sub), 'pattern_conv_weight');
  const own = fromCount(b, convInputGrad(b, full, binary, 1, geo));
  const ones = kernel.map(() => 1);
  const select = new Float32Array(cin * dirty.length);
  dirty.forEach((i, j) => (select[i * dirty.length + j] = 1));
  const embedded = b.op1('Conv', [own, b.floatTensor('pattern_select', [cin, dirty.length, ...ones], select)], [attr.ints('kernel_shape', ones)], 'pattern_dirty');
  const keep = Float32Array.from({ length: cin }, (_, i) => (dirty.includes(i) ? 0 : 1));
  const clean = b.op1('Mul', [shared, b.floatTensor('pattern_clean', [1, cin, ...ones], keep)]);
  const result = b.op1('Max', [clean, embedded], [], 'pattern_few_zeros');
  ctx.setPatternShape(result, xShape);
  return result;
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
    ctx.setPatternShape(p, yShape);
  }

  const weights = w.toFloat32();
  if (!denseWeights(weights)) {
    const dirty = group === 1 ? channelsReadingZeros(weights, cinPerGroup, weights.length / (cout * cinPerGroup)) : undefined;
    if (dirty && dirty.length * FEW_ZEROS_SHARE <= cinPerGroup) return [fewZeros(ctx, p, ps, w.dims as number[], weights, dirty, geo)];
    if (ps[1] === 1) p = b.op1('Expand', [p, b.op1('Shape', [node.outputs[0]!])]);
    const binary = nonZeroConstant(b, w, 'pattern_conv_weight');
    return [fromCount(b, convInputGrad(b, p, binary, group, geo))];
  }

  if (group === 1) {
    const any = ps[1] === 1 ? p : channelOr(ctx, p);
    const shared = spread(ctx, any, 1, geo);
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
  const perGroupIn = spread(ctx, perGroup, group, geo);
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
