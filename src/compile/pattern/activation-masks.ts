/**
 * Pattern rules of the activations that build their own 0/1 mask instead of running the
 * float rule (rules/activations.ts) on the pattern: Relu and HardSwish. Listed in rules.ts.
 */
import { attr } from '../../onnx/graph.js';
import { DataType } from '../../onnx/schema.js';
import { blockedShape, isBlocked, maskedBlocked, positiveMask } from './blocked.js';
import type { PatternContext, PatternRule } from './types.js';

/**
 * The float32 inputs in [−3, 3] where rules/activations.ts's HardSwish slope x·(1/3) + 1/2
 * rounds to exactly 0 (the slope is within 2^-20 of 0 only within ±1e5 ulps of −1.5).
 */
let slopeZeros: number[] | undefined;
function hardSwishSlopeZeros(): number[] {
  if (slopeZeros) return slopeZeros;
  const third = Math.fround(1 / 3);
  const f32 = new Float32Array([-1.5]);
  const bits = new Int32Array(f32.buffer);
  const base = bits[0]!;
  slopeZeros = [];
  for (let d = -100000; d <= 100000; d++) {
    bits[0] = base + d;
    if (Math.fround(Math.fround(f32[0]! * third) + 0.5) === 0) slopeZeros.push(f32[0]!);
  }
  return slopeZeros;
}

/**
 * HardSwish, as torch's hardswish_backward: 0 below −3, g·(x/3 + 1/2) up to 3, g above.
 * The gradient is zero where x < −3 or the slope rounds to 0: one boolean mask and one
 * multiply instead of the float rule's two Wheres, and a one-channel pattern broadcasts.
 */
export const hardSwish: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b, node } = ctx;
    const x = node.inputs[0]!;
    const zero = [b.op1('Less', [x, b.scalar(-3)]), ...hardSwishSlopeZeros().map((v) => b.op1('Equal', [x, b.scalar(v)]))]
      .reduce((acc, z) => b.op1('Or', [acc, z]));
    const mask = b.op1('Cast', [b.op1('Not', [zero])], [attr.int('to', DataType.FLOAT)], 'hardswish_pattern');
    return [b.op1('Mul', [ctx.gradOutputs[0]!, mask])];
  },
};

/**
 * Whether an activation's pattern (ReLU, HardSwish from its output) is lowered blocked
 * (blocked.ts): where it stays blocked after it, into a depthwise Conv's footprint (the
 * activation after a grouped Conv), or where it arrives blocked (from such a footprint).
 * A ReLU between dense convolutions (ResNets) keeps the factored NCHW form: there the
 * blocked form costs as many passes as it saves.
 */
export function blockedActivation(ctx: PatternContext): boolean {
  const y = ctx.node.outputs[0]!;
  if (!ctx.blocked || !blockedShape(ctx.shape(y))) return false;
  const g = ctx.gradOutputs[0]!;
  if (isBlocked(ctx, g)) return true;
  // Into a depthwise footprint, from a one-channel pattern that a Conv repeats blocked (an
  // SE block's pattern there is a Max of two NCHW ones: the product would not stay blocked).
  const gs = ctx.patternShape(g);
  return !!ctx.fromGroupedConv?.(ctx.node.inputs[0]!) && gs.length === 4 && gs[1] === 1;
}

/**
 * Relu: mask · g, as the float rule (rules/activations.ts) computes it; a one-channel g
 * broadcasts against the mask. From a one-channel g the result is also recorded as its
 * factors (types.ts ReluFactors).
 */
export const relu: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b } = ctx;
    const g = ctx.gradOutputs[0]!;
    const y = ctx.node.outputs[0]!;
    if (blockedActivation(ctx)) return [maskedBlocked(ctx, g, positiveMask(b, y, ctx.shape(y)[1] as number, 'relu_mask'))];
    const mask = b.op1('Cast', [b.op1('Greater', [y, b.scalar(0)])], [attr.int('to', DataType.FLOAT)], 'relu_mask');
    const p = b.op1('Mul', [g, mask], [], 'relu_grad');
    const gs = ctx.patternShape(g);
    const ys = ctx.shape(y);
    if (gs.length === ys.length && gs[1] === 1 && ys[1] !== 1 && gs.slice(2).every((d, i) => d === ys[2 + i])) {
      ctx.setFactors?.(p, { mask, positive: y, shared: g });
    }
    return [p];
  },
};
