/**
 * Broadcasting arithmetic. The gradient of a broadcast operand is summed over the axes it
 * was broadcast along, then reshaped to the operand's own shape.
 */
import { describeNode, type Shape } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import { g0, type VjpContext, type VjpRule } from './types.js';

/** Sum `grad` (shaped like the op's output) down to the shape of the forward tensor `input`. */
export function reduceToInput(b: GraphBuilder, grad: string, outShape: Shape, input: string, inShape: Shape): string {
  const offset = outShape.length - inShape.length;
  const axes: number[] = [];
  outShape.forEach((d, i) => {
    const j = i - offset;
    if (j < 0 || (inShape[j] === 1 && d !== 1)) axes.push(i);
  });
  if (axes.length === 0) return grad;
  const summed = b.reduce('ReduceSum', grad, axes, true);
  return offset > 0 ? b.reshapeLike(summed, input) : summed;
}

function operandGrads(ctx: VjpContext, local: (i: number) => string): Array<string | undefined> {
  const out = ctx.shape(ctx.node.outputs[0]!);
  return ctx.node.inputs.map((input, i) =>
    ctx.needsGrad[i] ? reduceToInput(ctx.b, local(i), out, input, ctx.shape(input)) : undefined,
  );
}

const add: VjpRule = (ctx) => operandGrads(ctx, () => g0(ctx));

const sub: VjpRule = (ctx) => operandGrads(ctx, (i) => (i === 0 ? g0(ctx) : ctx.b.op1('Neg', [g0(ctx)])));

const mul: VjpRule = (ctx) =>
  operandGrads(ctx, (i) => ctx.b.op1('Mul', [g0(ctx), ctx.node.inputs[1 - i]!], [], 'mul_grad'));

/** d(a/b) = g/b for a, −g·(a/b)/b for b (a decomposed LayerNorm divides by its std). */
const div: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [, divisor] = node.inputs as [string, string];
  const overB = b.op1('Div', [g0(ctx), divisor]);
  return operandGrads(ctx, (i) => (i === 0 ? overB : b.op1('Neg', [b.op1('Mul', [overB, node.outputs[0]!])])));
};

/** x^p with a constant exponent: p·x^(p−1)·g (x² in a decomposed variance). */
const pow: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const exponent = b.constant(node.inputs[1]!);
  if (ctx.needsGrad[1] || !exponent || exponent.size !== 1) {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)} raises to a power that is not a constant scalar; only x^p with a constant p is supported`, {
      node: node.name,
    });
  }
  const p = exponent.toNumbers()[0]!;
  const x = node.inputs[0]!;
  const local = p === 2 ? b.op1('Mul', [x, b.scalar(2)]) : b.op1('Mul', [b.op1('Pow', [x, b.scalar(p - 1)]), b.scalar(p)]);
  return operandGrads(ctx, () => b.op1('Mul', [g0(ctx), local], [], 'pow_grad'));
};

/** √x' = 1 / (2√x) */
const sqrt: VjpRule = (ctx) => [ctx.b.op1('Div', [ctx.b.op1('Mul', [g0(ctx), ctx.b.scalar(0.5)]), ctx.node.outputs[0]!], [], 'sqrt_grad')];

/** (1/x)' = −1/x² */
const reciprocal: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]!;
  return [ctx.b.op1('Neg', [ctx.b.op1('Mul', [g0(ctx), ctx.b.op1('Mul', [y, y])])], [], 'reciprocal_grad')];
};

/** Expand broadcasts its input to a shape: the gradient sums back over the broadcast axes. */
const expand: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]!;
  return [reduceToInput(ctx.b, g0(ctx), ctx.shape(ctx.node.outputs[0]!), x, ctx.shape(x))];
};

/** Where(c, a, b): the gradient goes to the operand each position was taken from. */
const where: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const zero = b.scalar(0);
  return operandGrads(ctx, (i) =>
    i === 1 ? b.op1('Where', [node.inputs[0]!, g0(ctx), zero]) : b.op1('Where', [node.inputs[0]!, zero, g0(ctx)]),
  );
};

export const elementwiseRules: Record<string, VjpRule> = {
  Add: add,
  Sum: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Expand: expand,
  Where: where,
};
