/**
 * 0/1 helpers for pattern tensors. A pattern is float32 rather than bool because
 * onnxruntime's Conv, MaxPool and Mul kernels (the spreading and masking below) take floats.
 */
import { attr } from '../../onnx/graph.js';
import { DataType } from '../../onnx/schema.js';
import type { Tensor } from '../../onnx/tensor.js';
import type { GraphBuilder } from '../builder.js';

/** 1 where x ≠ 0 (ONNX Cast to bool: ±0 → false, anything else, NaN too, → true). */
export function nonZero(b: GraphBuilder, x: string): string {
  const asBool = b.op1('Cast', [x], [attr.int('to', DataType.BOOL)], 'pattern_nz');
  return b.op1('Cast', [asBool], [attr.int('to', DataType.FLOAT)], 'pattern');
}

/**
 * 0/1 from a count: the sums of 0/1 values that Conv, ConvTranspose, ScatterElements(add)
 * and ReduceSum produce are non-negative integers (exact in float32 below 2^24), so
 * min(x, 1) is 1 exactly where the count is positive. One op instead of two.
 */
export function fromCount(b: GraphBuilder, x: string): string {
  return b.op1('Min', [x, b.scalar(1)], [], 'pattern');
}

/** The non-zero indicator of a constant tensor, as a float32 initializer of the same shape. */
export function nonZeroConstant(b: GraphBuilder, t: Tensor, hint: string): string {
  const src = t.toFloat32();
  const data = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i] !== 0 ? 1 : 0;
  return b.floatTensor(hint, t.dims as number[], data);
}

/** The non-zero indicator of any tensor: a constant one at compile time, else at run time. */
export function nonZeroOf(b: GraphBuilder, x: string, hint: string): string {
  const c = b.constant(x);
  if (c) return nonZeroConstant(b, c, hint);
  const nz = nonZero(b, x);
  const shape = b.shapeOf(x);
  if (shape) b.shapes.set(nz, shape);
  return nz;
}
