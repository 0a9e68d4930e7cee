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

/** Division by a constant (or by anything that needs no gradient). */
const div: VjpRule = (ctx) => {
  if (ctx.needsGrad[1]) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${describeNode(ctx.node)} divides by a tensor that depends on the input; only division by a constant is supported`,
      { node: ctx.node.name },
    );
  }
  return operandGrads(ctx, () => ctx.b.op1('Div', [g0(ctx), ctx.node.inputs[1]!]));
};

export const elementwiseRules: Record<string, VjpRule> = {
  Add: add,
  Sum: add,
  Sub: sub,
  Mul: mul,
  Div: div,
};
