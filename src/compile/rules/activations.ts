/**
 * Pointwise activations. Masks use the same strict comparisons as PyTorch's backward
 * kernels (threshold_backward, hardtanh_backward, hardsigmoid_backward,
 * hardswish_backward), so the zero pattern of a gradient matches autograd exactly.
 */
import { attr, attrFloat } from '../../onnx/graph.js';
import { DataType } from '../../onnx/schema.js';
import { g0, type VjpRule } from './types.js';

/**
 * d relu: pass where the output is > 0 (torch: threshold_backward(grad, result, 0)).
 * Multiplying by the 0/1 mask costs half of a Where in onnxruntime's CPU kernels
 * (bench/elementwise.ts) and gives the same values for finite gradients.
 */
const relu: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const mask = b.op1('Cast', [b.op1('Greater', [node.outputs[0]!, b.scalar(0)])], [attr.int('to', DataType.FLOAT)], 'relu_mask');
  return [b.op1('Mul', [g0(ctx), mask], [], 'relu_grad')];
};

/** https://onnx.ai/onnx/operators/onnx__LeakyRelu.html : x > 0 ? g : alpha * g */
const leakyRelu: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const alpha = attrFloat(node, 'alpha', 0.01);
  const mask = b.op1('Greater', [node.inputs[0]!, b.scalar(0)]);
  return [b.op1('Where', [mask, g0(ctx), b.op1('Mul', [g0(ctx), b.scalar(alpha)])])];
};

/**
 * Clip (ReLU6 and friends): the gradient passes strictly inside (min, max).
 * https://onnx.ai/onnx/operators/onnx__Clip.html : bounds are inputs from opset 11.
 */
const clip: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const bound = (index: number, attrName: string): string | undefined => {
    const input = node.inputs[index];
    if (input) return input;
    const a = node.attributes.find((at) => at.name === attrName);
    return a ? b.scalar(a.f ?? 0) : undefined;
  };
  const lo = bound(1, 'min');
  const hi = bound(2, 'max');
  const conds = [
    ...(lo ? [b.op1('Greater', [x, lo])] : []),
    ...(hi ? [b.op1('Less', [x, hi])] : []),
  ];
  if (conds.length === 0) return [g0(ctx)];
  const mask = conds.length === 2 ? b.op1('And', conds) : conds[0]!;
  return [b.op1('Where', [mask, g0(ctx), b.scalar(0)], [], 'clip_grad')];
};

/** sigmoid' = y (1 - y) */
const sigmoid: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const y = node.outputs[0]!;
  const dy = b.op1('Mul', [y, b.op1('Sub', [b.scalar(1), y])]);
  return [b.op1('Mul', [g0(ctx), dy], [], 'sigmoid_grad')];
};

/** tanh' = 1 - y² */
const tanh: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const y = node.outputs[0]!;
  const dy = b.op1('Sub', [b.scalar(1), b.op1('Mul', [y, y])]);
  return [b.op1('Mul', [g0(ctx), dy])];
};

/** y = clip(alpha x + beta, 0, 1): gradient alpha strictly inside the linear part. */
const hardSigmoid: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const alpha = attrFloat(node, 'alpha', 0.2);
  const beta = attrFloat(node, 'beta', 0.5);
  const x = node.inputs[0]!;
  const lo = b.op1('Greater', [x, b.scalar(-beta / alpha)]);
  const hi = b.op1('Less', [x, b.scalar((1 - beta) / alpha)]);
  const scaled = b.op1('Mul', [g0(ctx), b.scalar(alpha)]);
  return [b.op1('Where', [b.op1('And', [lo, hi]), scaled, b.scalar(0)])];
};

/** hardswish(x) = x·relu6(x+3)/6: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above (torch). */
const hardSwish: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const g = g0(ctx);
  const slope = b.op1('Add', [b.op1('Mul', [x, b.scalar(1 / 3)]), b.scalar(0.5)]);
  const middle = b.op1('Where', [b.op1('LessOrEqual', [x, b.scalar(3)]), b.op1('Mul', [g, slope]), g]);
  return [b.op1('Where', [b.op1('Less', [x, b.scalar(-3)]), b.scalar(0), middle])];
};

const passThrough: VjpRule = (ctx) => [g0(ctx)];

export const activationRules: Record<string, VjpRule> = {
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Sigmoid: sigmoid,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Identity: passThrough,
  // Dropout is the identity at inference (its mask output carries no gradient).
  Dropout: passThrough,
};
