/**
 * Pointwise activations. Masks use the same strict comparisons as PyTorch's backward
 * kernels (threshold_backward, hardtanh_backward, hardsigmoid_backward,
 * hardswish_backward), so the zero pattern of a gradient matches autograd exactly.
 */
import { attr, attrFloat, attrString } from '../../onnx/graph.js';
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

/**
 * σ(x) as torch computes it, 1 / (1 + exp(−x)). onnxruntime's Sigmoid kernel is an
 * approximation that returns exactly 0 below x = −18 (torch: 1.5e-8 there, 8.8e-27 at −60)
 * and exactly 1 from 18 up; a derivative taken from it would be 0 where torch's is not,
 * and GAIA-Z counts exactly those zeros. Its Exp kernel agrees with torch's bit for bit.
 */
function torchSigmoid(ctx: Parameters<VjpRule>[0], x: string): string {
  const { b } = ctx;
  return b.op1('Reciprocal', [b.op1('Add', [b.op1('Exp', [b.op1('Neg', [x])]), b.scalar(1)])], [], 'sigmoid');
}

/** sigmoid' = s (1 - s), with s recomputed as torch does (see torchSigmoid). */
const sigmoid: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const y = torchSigmoid(ctx, node.inputs[0]!);
  const dy = b.op1('Mul', [y, b.op1('Sub', [b.scalar(1), y])]);
  return [b.op1('Mul', [g0(ctx), dy], [], 'sigmoid_grad')];
};

/**
 * tanh' = 1 - t², with t = 1 − 2 / (exp(2x) + 1): onnxruntime's Tanh kernel saturates to
 * ±1 from |x| = 9 on, where torch's float32 tanh is still 1 − 6e-8 (a non-zero derivative).
 */
function torchTanh(ctx: Parameters<VjpRule>[0], x: string): string {
  const { b } = ctx;
  const e = b.op1('Exp', [b.op1('Mul', [x, b.scalar(2)])]);
  return b.op1('Sub', [b.scalar(1), b.op1('Div', [b.scalar(2), b.op1('Add', [e, b.scalar(1)])])], [], 'tanh');
}

const tanh: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const t = torchTanh(ctx, node.inputs[0]!);
  const dy = b.op1('Sub', [b.scalar(1), b.op1('Mul', [t, t])]);
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

/** erf'(x) = 2/√π · exp(−x²) */
const erf: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const bell = b.op1('Exp', [b.op1('Neg', [b.op1('Mul', [x, x])])]);
  return [b.op1('Mul', [g0(ctx), b.op1('Mul', [bell, b.scalar(2 / Math.sqrt(Math.PI))])], [], 'erf_grad')];
};

/**
 * Gelu (opset 20), as torch's gelu_backward:
 * exact: Φ(x) + x·φ(x);  tanh: with u = √(2/π)(x + 0.044715x³),
 * ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
 * https://onnx.ai/onnx/operators/onnx__Gelu.html
 */
const gelu: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const g = g0(ctx);
  const mul = (p: string, q: string) => b.op1('Mul', [p, q]);
  const add = (p: string, q: string) => b.op1('Add', [p, q]);
  const x2 = mul(x, x);
  if (attrString(node, 'approximate', 'none') === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const t = torchTanh(ctx, mul(add(x, mul(mul(x2, x), b.scalar(0.044715))), b.scalar(k)));
    const left = mul(add(t, b.scalar(1)), b.scalar(0.5));
    const dInner = mul(add(mul(x2, b.scalar(3 * 0.044715)), b.scalar(1)), b.scalar(k));
    const right = mul(mul(mul(x, b.scalar(0.5)), b.op1('Sub', [b.scalar(1), mul(t, t)])), dInner);
    return [b.op1('Mul', [g, add(left, right)], [], 'gelu_grad')];
  }
  const cdf = mul(add(b.op1('Erf', [mul(x, b.scalar(Math.SQRT1_2))]), b.scalar(1)), b.scalar(0.5));
  const pdf = mul(b.op1('Exp', [mul(x2, b.scalar(-0.5))]), b.scalar(1 / Math.sqrt(2 * Math.PI)));
  return [b.op1('Mul', [g, add(cdf, mul(x, pdf))], [], 'gelu_grad')];
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
  Erf: erf,
  Gelu: gelu,
  Identity: passThrough,
  // Dropout is the identity at inference (its mask output carries no gradient).
  Dropout: passThrough,
};
