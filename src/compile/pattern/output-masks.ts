/**
 * Activation masks read from the activation's *output*, the tensor a fused Conv+activation
 * kernel writes anyway. Reading the input instead (the Conv's raw output) makes onnxruntime
 * run the Conv without its activation and the activation on its own, in NCHW, with a layout
 * reorder on each side (MobileNetV3-Large: 83 reorders instead of 17). docs/COMPILER.md,
 * "Masks from the activation's output", says where each is exact.
 */
import { attr, attrFloat, type Node } from '../../onnx/graph.js';
import { DataType } from '../../onnx/schema.js';
import type { GraphBuilder } from '../builder.js';
import { blockedActivation } from './activation-masks.js';
import { nonZero } from './binary.js';
import { maskedBlocked, nonZeroMask } from './blocked.js';
import type { PatternRule } from './types.js';

const asFloat = (b: GraphBuilder, bool: string, hint: string) => b.op1('Cast', [bool], [attr.int('to', DataType.FLOAT)], hint);

/**
 * HardSwish: the gradient is 0 where x < −3, and there the output is ±0. The output is
 * also 0 at x = −3 and x = ±0, where torch's slope (−1/2, 1/2) is not, and non-zero at the
 * few float32 inputs near −1.5 where the slope rounds to 0: at those inputs this mask
 * differs from autograd's (counted per model by bench/activation-masks.ts).
 */
export const hardSwishFromOutput: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const y = ctx.node.outputs[0]!;
    if (blockedActivation(ctx)) return [maskedBlocked(ctx, ctx.gradOutputs[0]!, nonZeroMask(ctx.b, y, ctx.shape(y)[1] as number, 'hardswish_mask'))];
    return [ctx.b.op1('Mul', [ctx.gradOutputs[0]!, nonZero(ctx.b, y)], [], 'hardswish_pattern')];
  },
};

/**
 * HardSigmoid, clip(αx + β, 0, 1): the gradient passes where the output is strictly inside
 * (0, 1). torch compares the input with −β/α and (1 − β)/α instead; the two differ only at
 * inputs within rounding of those bounds.
 */
export const hardSigmoidFromOutput: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b } = ctx;
    const y = ctx.node.outputs[0]!;
    const inside = b.op1('And', [b.op1('Greater', [y, b.scalar(0)]), b.op1('Less', [y, b.scalar(1)])]);
    return [b.op1('Mul', [ctx.gradOutputs[0]!, asFloat(b, inside, 'hardsigmoid_pattern')])];
  },
};

/** A Clip bound: an input from opset 11, an attribute before. */
function clipBound(b: GraphBuilder, node: Node, index: number, name: string): string | undefined {
  const input = node.inputs[index];
  if (input) return input;
  return node.attributes.some((a) => a.name === name) ? b.scalar(attrFloat(node, name, 0)) : undefined;
}

/**
 * Clip (ReLU6): torch passes the gradient where min < x < max. With y = min(max(x, lo), hi)
 * that is exactly lo < y < hi (y = x there, y = lo or hi elsewhere, and all hi when
 * lo ≥ hi), so this one is exact.
 */
export const clipFromOutput: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b, node } = ctx;
    const y = node.outputs[0]!;
    const lo = clipBound(b, node, 1, 'min');
    const hi = clipBound(b, node, 2, 'max');
    const conds = [...(lo ? [b.op1('Greater', [y, lo])] : []), ...(hi ? [b.op1('Less', [y, hi])] : [])];
    if (conds.length === 0) return [ctx.gradOutputs[0]];
    const inside = conds.length === 2 ? b.op1('And', conds) : conds[0]!;
    return [b.op1('Mul', [ctx.gradOutputs[0]!, asFloat(b, inside, 'clip_pattern')])];
  },
};
