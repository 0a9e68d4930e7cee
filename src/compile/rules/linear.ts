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

/**
 * MatMul with numpy semantics (rank ≥ 2; batch axes broadcast): dA = g·Bᵀ, dB = Aᵀ·g, each
 * summed back over the batch axes its operand was broadcast along. Covers Linear layers on
 * feature maps and attention (both operands activations).
 * https://onnx.ai/onnx/operators/onnx__MatMul.html
 */
const matMul: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [a, bm] = node.inputs as [string, string];
  const as = ctx.shape(a);
  const bs = ctx.shape(bm);
  if (as.length < 2 || bs.length < 2) {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)}: MatMul with a 1-D operand is not supported`, { node: node.name });
  }
  const g = g0(ctx);
  const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  const transposed = (x: string, rank: number) => b.op1('Transpose', [x], [attr.ints('perm', swapLast(rank))]);
  const out = ctx.shape(node.outputs[0]!);
  const da = ctx.needsGrad[0]
    ? reduceToInput(b, b.op1('MatMul', [g, transposed(bm, bs.length)], [], 'matmul_grad'), out, a, as)
    : undefined;
  const db = ctx.needsGrad[1]
    ? reduceToInput(b, b.op1('MatMul', [transposed(a, as.length), g], [], 'matmul_grad'), [...out.slice(0, -2), as[as.length - 1]!, out[out.length - 1]!], bm, bs)
    : undefined;
  return [da, db];
};

export const linearRules: Record<string, VjpRule> = { Gemm: gemm, MatMul: matMul };
