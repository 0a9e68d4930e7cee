/**
 * MatMul and Gemm. https://onnx.ai/onnx/operators/onnx__Gemm.html
 * Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A, B' = transB ? Bᵀ : B.
 * dA' = alpha·dY·B'ᵀ and dB' = alpha·A'ᵀ·dY; each is expressed as one Gemm whose trans
 * flags absorb the transposes.
 */
import { attr, attrFloat, attrInt, describeNode } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { reduceToInput } from './elementwise.js';
import { g0, type VjpRule } from './types.js';

const gemm: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [a, bm, c] = node.inputs;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const transA = attrInt(node, 'transA', 0) === 1;
  const transB = attrInt(node, 'transB', 0) === 1;
  const g = g0(ctx);
  const gemmOf = (p: string, q: string, tp: boolean, tq: boolean) =>
    b.op1('Gemm', [p, q], [attr.float('alpha', alpha), attr.int('transA', tp ? 1 : 0), attr.int('transB', tq ? 1 : 0)], 'gemm_grad');
  const da = ctx.needsGrad[0] ? (transA ? gemmOf(bm!, g, transB, true) : gemmOf(g, bm!, false, !transB)) : undefined;
  const db = ctx.needsGrad[1] ? (transB ? gemmOf(g, a!, true, transA) : gemmOf(a!, g, !transA, false)) : undefined;
  let dc: string | undefined;
  if (ctx.needsGrad[2] && c) {
    const scaled = beta === 1 ? g : b.op1('Mul', [g, b.scalar(beta)]);
    dc = reduceToInput(b, scaled, ctx.shape(node.outputs[0]!), c, ctx.shape(c));
  }
  return [da, db, dc];
};

/** Only the 2-D cases classifier heads use; batched MatMul with two activations is refused. */
const matMul: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [a, bm] = node.inputs as [string, string];
  const ra = ctx.shape(a).length;
  const rb = ctx.shape(bm).length;
  const g = g0(ctx);
  const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  let da: string | undefined;
  let db: string | undefined;
  if (ctx.needsGrad[0]) {
    if (rb !== 2 && ra !== rb) {
      throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)}: batched MatMul with a rank-${rb} right operand is not supported`, { node: node.name });
    }
    da = b.op1('MatMul', [g, b.op1('Transpose', [bm], [attr.ints('perm', swapLast(rb))])], [], 'matmul_grad');
  }
  if (ctx.needsGrad[1]) {
    if (ra !== 2 || rb !== 2) {
      throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)}: the gradient of a batched MatMul's right operand is not supported`, { node: node.name });
    }
    db = b.op1('MatMul', [b.op1('Transpose', [a], [attr.ints('perm', [1, 0])]), g], [], 'matmul_grad');
  }
  return [da, db];
};

export const linearRules: Record<string, VjpRule> = { Gemm: gemm, MatMul: matMul };
