/**
 * Shapes of the ops that read or make index and shape vectors (Shape, Size, Gather, Range,
 * Expand, GatherND, ConstantOfShape, ArgMax, ArgMin): where exporters compute shapes at run
 * time, and where the compile-time values of small tensors are carried along (value-folding.ts).
 */
import { attrInt, attrTensor, type Dim, type Node } from './graph.js';
import { broadcastShapes, product } from './dim-arithmetic.js';
import { constInts, normAxis } from './op-params.js';
import { DataType } from './schema.js';
import { fail } from './shape-errors.js';
import type { TensorInfo } from './tensor-info.js';

/** The output shapes of `node` when it is one of these ops; undefined otherwise. */
export function inferIndexOp(node: Node, get: (node: Node, i: number) => TensorInfo): TensorInfo[] | undefined {
  const x = (): TensorInfo => get(node, 0);
  switch (node.opType) {
    case 'Shape': {
      const xs = x().shape;
      const start = normAxis(attrInt(node, 'start', 0), xs.length);
      const endAttr = attrInt(node, 'end');
      const end = endAttr === undefined ? xs.length : normAxis(endAttr, xs.length);
      const value = xs.slice(start, end);
      return [{ elemType: DataType.INT64, shape: [value.length], value }];
    }
    case 'Size':
      return [{ elemType: DataType.INT64, shape: [], value: [product(x().shape)] }];
    case 'Gather': {
      const data = x();
      const idx = get(node, 1);
      const axis = normAxis(attrInt(node, 'axis', 0), data.shape.length);
      const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
      const value =
        data.value && idx.value && data.shape.length === 1
          ? idx.value.map((i) => data.value![normAxis(i as number, data.value!.length)]!)
          : undefined;
      return [{ elemType: data.elemType, shape, ...(value ? { value } : {}) }];
    }
    case 'Range': {
      // Index vectors of slice-assignments (x[:, :c] += y) and as_strided decompositions.
      const [start, limit, delta] = [0, 1, 2].map((i) => get(node, i).value?.[0]);
      const elemType = get(node, 0).elemType;
      if (typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number' && delta !== 0) {
        const n = Math.max(0, Math.ceil((limit - start) / delta));
        const value = n <= 64 ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined;
        return [{ elemType, shape: [n], ...(value ? { value } : {}) }];
      }
      if (start === 0 && delta === 1 && limit !== undefined) return [{ elemType, shape: [limit] }];
      return [{ elemType, shape: [`range(${String(limit)})`] }];
    }
    case 'Expand': {
      const target = constInts(node, 1, get)!;
      return [{ elemType: x().elemType, shape: broadcastShapes(node, [x().shape, target]) }];
    }
    case 'GatherND': {
      const data = x().shape;
      const idx = get(node, 1).shape;
      const batchDims = attrInt(node, 'batch_dims', 0);
      const last = idx[idx.length - 1];
      if (typeof last !== 'number') fail(node, 'the last axis of its indices must be static');
      return [{ elemType: x().elemType, shape: [...idx.slice(0, -1), ...data.slice(batchDims + last)] }];
    }
    case 'ConstantOfShape': {
      const shape = constInts(node, 0, get)!;
      const t = attrTensor(node, 'value');
      const count = shape.every((d) => typeof d === 'number') ? (shape as number[]).reduce((a, b) => a * b, 1) : Infinity;
      const fill = t ? t.toNumbers()[0] ?? 0 : 0;
      const value = count <= 64 ? new Array<Dim>(count).fill(fill) : undefined;
      return [{ elemType: t?.dataType ?? DataType.FLOAT, shape, ...(value ? { value } : {}) }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      const xs = x().shape;
      const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      return [{ elemType: DataType.INT64, shape: keep ? xs.map((d, i) => (i === axis ? 1 : d)) : xs.filter((_, i) => i !== axis) }];
    }
    default:
      return undefined;
  }
}
