/**
 * Softmax and LogSoftmax (a classifier may end with one). Opset 13 changed the default
 * axis from 1 to -1 and made both ops act along a single axis.
 * https://onnx.ai/onnx/operators/onnx__Softmax.html
 */
import { attrInt, describeNode } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { g0, type VjpContext, type VjpRule } from './types.js';

function axisOf(ctx: VjpContext): number {
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const axis = attrInt(ctx.node, 'axis', ctx.b.opset >= 13 ? -1 : 1);
  const norm = axis < 0 ? axis + rank : axis;
  if (ctx.b.opset < 13 && norm !== rank - 1) {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(ctx.node)} flattens axes ${norm}..${rank - 1} (opset < 13 semantics); only the last axis is supported`, { node: ctx.node.name });
  }
  return norm;
}

/** dx = y ⊙ (g − Σ g⊙y) */
const softmax: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const y = node.outputs[0]!;
  const dot = b.reduce('ReduceSum', b.op1('Mul', [g0(ctx), y]), [axisOf(ctx)], true);
  return [b.op1('Mul', [y, b.op1('Sub', [g0(ctx), dot])], [], 'softmax_grad')];
};

/** dx = g − softmax(x) ⊙ Σ g */
const logSoftmax: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const total = b.reduce('ReduceSum', g0(ctx), [axisOf(ctx)], true);
  const p = b.op1('Exp', [node.outputs[0]!]);
  return [b.op1('Sub', [g0(ctx), b.op1('Mul', [p, total])], [], 'logsoftmax_grad')];
};

export const softmaxRules: Record<string, VjpRule> = { Softmax: softmax, LogSoftmax: logSoftmax };
