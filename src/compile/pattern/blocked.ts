/**
 * Pattern ops that onnxruntime's CPU provider can keep in its blocked NCHWc layout
 * (docs/COMPILER.md, "Patterns in the blocked layout"). The forward convolutions write their
 * (fused) activations blocked; an NCHW op that reads one makes onnxruntime copy it back to
 * NCHW first (a ReorderOutput, a full pass), and every op after it stays NCHW. Its
 * NchwcTransformer keeps blocked: Conv with constant weights (any group, any channel count,
 * with a fused Relu, LeakyRelu, HardSigmoid, Clip, …), MaxPool / AveragePool when the channels are a
 * multiple of the block (16 with AVX-512, 8 with AVX2), Global pools, Add / Sum / Mul of two
 * blocked tensors of the same shape (no broadcast, no constant operand), Concat on the
 * channels, Relu / Sigmoid / Tanh, BatchNormalization, nearest Resize by integer scales.
 * Not: Greater, Cast, Min, Max, Equal, Where, ReduceX, MatMul, broadcasting binaries.
 * So the masks, products, footprints, counts and channel-ORs here are built from those ops
 * only, every one exact on the values it gets (the comment of each says why).
 */
import { attr, type Shape } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';
import type { PatternContext } from './types.js';

/** Whether a pattern tensor came out of the blocked lowering (so that its readers stay blocked too). */
export const isBlocked = (ctx: PatternContext, p: string) => !!ctx.blocked && !!ctx.blockedTensors?.has(p);

/**
 * A [B, C, H, W] tensor with static channels and positions, more than one position: the
 * shape whose pattern ops the blocked lowering handles (a [B, C, 1, 1] SE gate is too
 * small to matter and keeps the plain rules).
 */
export function blockedShape(shape: Shape | undefined): shape is readonly [number | string, number, number, number] {
  return (
    !!shape && shape.length === 4 && shape.slice(1).every((d) => typeof d === 'number') && (shape[2] as number) * (shape[3] as number) > 1
  );
}

/** The block size onnxruntime's pooling needs in every build (AVX-512's 16; AVX2's 8 divides it). */
export const POOL_BLOCK = 16;

/** 2^127 · 2^22 = 2^149: the smallest positive float32 (2^-149) times it is 1. */
const SCALE = 2 ** 127;
const SLOPE = 2 ** 22;

/** HardSigmoid(α, β) = clamp(α·x + β, 0, 1), which onnxruntime fuses into the Conv before it. */
const clamp01 = (b: GraphBuilder, x: string, alpha: number, hint: string) =>
  b.op1('HardSigmoid', [x], [attr.float('alpha', alpha), attr.float('beta', 0)], hint);

/**
 * [x > 0] as float 0/1 for a [B, C, H, W] x: a depthwise 1×1 Conv by 2^127 and a
 * HardSigmoid of slope 2^22 (fused into one blocked kernel). Exact for every float32: the
 * Conv's one product per output is x scaled by a power of two, exact unless it overflows to
 * ±inf; any positive x, down to the smallest subnormal 2^-149, becomes at least 2^-22, times
 * 2^22 at least 1, clamped to 1; zero, −0 and negative values clamp to 0, +inf to 1. Only
 * NaN differs from Greater(x, 0) (NaN through the clamp), as in the factored ReLU path.
 */
export function positiveMask(b: GraphBuilder, x: string, channels: number, hint: string): string {
  const w = b.floatTensor('pattern_scale', [channels, 1, 1, 1], new Float32Array(channels).fill(SCALE));
  return clamp01(b, b.op1('Conv', [x, w], [attr.int('group', channels), attr.ints('kernel_shape', [1, 1])], `${hint}_scale`), SLOPE, hint);
}

/**
 * [x ≠ 0] as float 0/1 for a [B, C, H, W] x (HardSwish's mask): a depthwise 1×1 Conv by
 * 2^127 with a fused LeakyRelu of slope −1 (|x·2^127|, exact: a power-of-two scale and a
 * negation), then a depthwise 1×1 Conv by 1 with positiveMask's HardSigmoid of slope 2^22:
 * any x ≠ 0 becomes at least 2^-22 in magnitude, then 1; ±0 stays 0. Two fused kernels
 * where [x > 0] + [x < 0] takes three. Only NaN differs from Cast(x, bool).
 */
export function nonZeroMask(b: GraphBuilder, x: string, channels: number, hint: string): string {
  const dw = (input: string, value: number, h: string) =>
    b.op1('Conv', [input, b.floatTensor('pattern_scale', [channels, 1, 1, 1], new Float32Array(channels).fill(value))], [attr.int('group', channels), attr.ints('kernel_shape', [1, 1])], h);
  const magnitude = b.op1('LeakyRelu', [dw(x, SCALE, `${hint}_scale`)], [attr.float('alpha', -1)], `${hint}_abs`);
  return clamp01(b, dw(magnitude, 1, `${hint}_unit`), SLOPE, hint);
}

/**
 * A one-channel [B, 1, H, W] pattern repeated over C channels, as a 1×1 Conv of ones[C, 1]:
 * onnxruntime reads its one-channel NCHW input directly and writes the result blocked, so
 * the product with a blocked mask stays blocked (a broadcasting Mul would not). Exact: one
 * product by 1 per output.
 */
export function repeatChannels(b: GraphBuilder, p: string, channels: number): string {
  const ones = b.floatTensor('pattern_repeat', [channels, 1, 1, 1], new Float32Array(channels).fill(1));
  return b.op1('Conv', [p, ones], [attr.ints('kernel_shape', [1, 1])], 'pattern_repeat');
}

/**
 * 0/1 from a count (a sum of 0/1 values, a non-negative integer, exact in float32 below
 * 2^24): clamp(count, 0, 1), as fromCount's Min(count, 1), but as a HardSigmoid that
 * onnxruntime fuses into the Conv that counted.
 */
export const countToPattern = (b: GraphBuilder, count: string, hint: string) => clamp01(b, count, 1, hint);

/**
 * The OR over the channels of a 0/1 [B, C, H, W] pattern, [B, 1, H, W]: a 1×1 Conv of
 * ones[1, C] (the count over the channels) clamped to 1, in one blocked kernel instead of
 * a reorder of the pattern and a MatMul.
 */
export function blockedChannelOr(b: GraphBuilder, p: string, channels: number): string {
  const ones = b.floatTensor('pattern_channel_ones', [1, channels, 1, 1], new Float32Array(channels).fill(1));
  return countToPattern(b, b.op1('Conv', [p, ones], [attr.ints('kernel_shape', [1, 1])], 'pattern_channel_sum'), 'pattern_channel_or');
}

/** blockedCounts is exact below this many positions (2^21). */
export const BLOCKED_COUNT_AREA = 2 ** 21;

/**
 * Ones per (sample, channel) of a 0/1 [B, C, H, W] pattern, [B, C], read in the blocked
 * layout. onnxruntime keeps a GlobalAveragePool blocked only when C is a multiple of its
 * block; then the pool times H·W, rounded: the pool's sum of 0/1 values is an integer
 * n ≤ H·W < 2^24, exact in float32 in any order; its mean and the product by H·W round
 * twice (relative error below 2^-22 together), so the result is within n·2^-22 < 0.5 of n
 * and Round gives n back (H·W below 2^21). Otherwise depthwise Convs of ones over each row
 * and then over the column of row sums (blocked for any C): the sum itself, exact for the
 * same reason.
 */
export function blockedCounts(b: GraphBuilder, p: string, shape: Shape): string {
  const [, channels, h, w] = shape as [unknown, number, number, number];
  let count: string;
  if (channels % POOL_BLOCK === 0) {
    const mean = b.op1('GlobalAveragePool', [p], [], 'pattern_count_mean');
    count = b.op1('Round', [b.op1('Mul', [mean, b.scalar(h * w)])], [], 'pattern_count');
  } else {
    // Separable: the row sums, then their sum (small weights; integer sums either way).
    const sum = (x: string, kernel: [number, number]) => {
      const ones = b.floatTensor('pattern_count_ones', [channels, 1, ...kernel], new Float32Array(channels * kernel[0] * kernel[1]).fill(1));
      return b.op1('Conv', [x, ones], [attr.int('group', channels), attr.ints('kernel_shape', kernel)], 'pattern_count');
    };
    count = sum(sum(p, [1, w]), [h, 1]);
  }
  return b.op1('Reshape', [count, b.ints([0, channels])]);
}

/**
 * mask · g in the blocked layout: a one-channel g is first repeated over the
 * channels by a Conv, so that the product is a Mul of two blocked tensors of one shape.
 * The full-size product is materialised (no factors): the blocked counts and channel-OR
 * read it without a reorder.
 */
export function maskedBlocked(ctx: PatternContext, g: string, mask: string): string {
  const ys = ctx.shape(ctx.node.outputs[0]!);
  const gs = ctx.patternShape(g);
  const oneChannel = gs.length === 4 && gs[1] === 1 && ys[1] !== 1 && gs.slice(2).every((d, i) => d === ys[2 + i]);
  const full = oneChannel ? repeatChannels(ctx.b, g, ys[1] as number) : g;
  ctx.b.declared.set(full, ys);
  ctx.b.declared.set(mask, ys);
  const product = ctx.b.op1('Mul', [full, mask], [], 'masked_pattern');
  ctx.b.declared.set(product, ys);
  ctx.blockedTensors?.add(product);
  return product;
}
