/**
 * Static shape inference for the ops CNN classifier exports contain. Spatial sizes are
 * static; the batch dimension stays symbolic (whatever name the model's input declares).
 * Small integer tensors (the Shape → Gather → Concat → Reshape chains exporters emit)
 * are evaluated symbolically, so a Reshape's target shape is known at compile time.
 * Beside this file: the index and shape-vector ops (index-op-shapes.ts), op parameters
 * (op-params.ts), symbolic dimensions (dim-arithmetic.ts), compile-time values
 * (value-folding.ts) and the errors (shape-errors.ts).
 */
import {
  attrFloat,
  attrInt,
  attrInts,
  attrTensor,
  describeNode,
  type Dim,
  type Graph,
  type Node,
  type Shape,
} from './graph.js';
import { addDims, broadcastShapes, divideDims, product, sliceLength } from './dim-arithmetic.js';
import { axesOf, constInts, normAxis, padAmounts, resizeShape, sliceParams } from './op-params.js';
import { DataType } from './schema.js';
import { fail, staticDims, unsupported } from './shape-errors.js';
import { Tensor } from './tensor.js';
import { foldArithmetic, foldEqual, foldWhere, INT_TYPES, remapValue, smallIntValue, UNARY_FOLD } from './value-folding.js';
import { inferIndexOp } from './index-op-shapes.js';
import type { GraphInfo, TensorInfo } from './tensor-info.js';
import { windowGeometry } from './window-geometry.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export type { GraphInfo, TensorInfo } from './tensor-info.js';

const SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Clip', 'Identity', 'Tanh', 'Exp',
  'Log', 'Sqrt', 'Neg', 'Abs', 'Softmax', 'LogSoftmax', 'Erf', 'Sign', 'Reciprocal', 'Elu', 'Selu',
  'Softplus', 'Softsign', 'Gelu', 'Mish', 'Not', 'BatchNormalization', 'InstanceNormalization',
  'LRN', 'Floor', 'Ceil', 'Round', 'PRelu',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where']);
const COMPARE = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']);
const REDUCE = new Set([
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ReduceLogSum',
]);

export function inferShapes(graph: Graph, opset: number): GraphInfo {
  const tensors = new Map<string, TensorInfo>();
  const constants = new Map<string, Tensor>(graph.initializers);
  for (const [name, t] of graph.initializers) {
    tensors.set(name, { elemType: t.dataType, shape: t.dims, ...smallIntValue(t) });
  }
  for (const input of graph.inputs) {
    if (tensors.has(input.name)) continue; // an initializer listed as input (old exporters)
    if (input.elemType === undefined || !input.shape) {
      throw new GaiaError(
        ErrorCodes.SHAPE_INFERENCE,
        `graph input "${input.name}" declares no tensor shape; export the model with a fixed input shape (dynamic batch is fine)`,
      );
    }
    tensors.set(input.name, { elemType: input.elemType, shape: input.shape });
  }
  const get = (node: Node, i: number): TensorInfo => {
    const name = node.inputs[i];
    const info = name ? tensors.get(name) : undefined;
    if (!info) {
      throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(node)}: input ${i} ("${name}") has no known shape`, {
        node: node.name,
      });
    }
    return info;
  };
  for (const node of graph.nodes) {
    const outs = inferNode(node, get, constants, opset);
    node.outputs.forEach((name, i) => {
      const info = outs[i];
      if (name && info) tensors.set(name, info);
    });
  }
  return { tensors, constants };
}

function inferNode(
  node: Node,
  get: (node: Node, i: number) => TensorInfo,
  constants: Map<string, Tensor>,
  opset: number,
): Array<TensorInfo | undefined> {
  const op = node.opType;
  if (node.domain && node.domain !== 'ai.onnx') unsupported(node);
  const x = (): TensorInfo => get(node, 0);
  const float = (shape: Shape, elemType = x().elemType): TensorInfo => ({ elemType, shape });

  if (op === 'Constant') {
    const t = attrTensor(node, 'value');
    if (t) {
      const named = t.renamed(node.outputs[0]!);
      constants.set(named.name, named);
      return [{ elemType: t.dataType, shape: t.dims, ...smallIntValue(t) }];
    }
    const f = node.attributes.find((a) => a.name === 'value_float');
    if (f) {
      const t2 = Tensor.float32(node.outputs[0]!, [], [attrFloat(node, 'value_float', 0)]);
      constants.set(t2.name, t2);
      return [{ elemType: DataType.FLOAT, shape: [], value: [attrFloat(node, 'value_float', 0)] }];
    }
    const ints = attrInts(node, 'value_ints');
    if (ints) {
      const t3 = Tensor.int64(node.outputs[0]!, [ints.length], ints);
      constants.set(t3.name, t3);
      return [{ elemType: DataType.INT64, shape: [ints.length], value: ints }];
    }
    const i = attrInt(node, 'value_int');
    if (i !== undefined) {
      const t4 = Tensor.int64(node.outputs[0]!, [], [i]);
      constants.set(t4.name, t4);
      return [{ elemType: DataType.INT64, shape: [], value: [i] }];
    }
    fail(node, 'only value, value_float, value_int and value_ints Constants are supported');
  }
  if (SAME_SHAPE.has(op)) {
    const v = x().value;
    const fold = UNARY_FOLD[op];
    if (v && fold && v.every((d) => typeof d === 'number')) return [{ ...float(x().shape), value: (v as number[]).map(fold) }];
    if (v && op === 'Clip') {
      const bound = (i: number) => (node.inputs[i] ? get(node, i).value?.[0] : undefined);
      const [lo, hi] = [bound(1), bound(2)];
      if (v.every((d) => typeof d === 'number') && [lo, hi].every((b) => b === undefined || typeof b === 'number')) {
        const clip = (d: number) => Math.min(Math.max(d, (lo as number | undefined) ?? -Infinity), (hi as number | undefined) ?? Infinity);
        return [{ ...float(x().shape), value: (v as number[]).map(clip) }];
      }
    }
    return [float(x().shape)];
  }
  if (op === 'Dropout') return [float(x().shape), { elemType: DataType.BOOL, shape: x().shape }];
  if (op === 'LayerNormalization') {
    // Mean and InvStdDev keep the leading axes and size 1 on the normalised ones.
    const xs = x().shape;
    const first = normAxis(attrInt(node, 'axis', -1), xs.length);
    const stats = float(xs.map((d, i) => (i < first ? d : 1)), DataType.FLOAT);
    return [float(xs), stats, stats];
  }
  if (op === 'ScatterND' || op === 'ScatterElements') return [{ elemType: x().elemType, shape: x().shape }];
  if (op === 'Resize') return [float(resizeShape(node, x().shape, get))];
  if (op === 'Cast') {
    const to = attrInt(node, 'to', DataType.FLOAT);
    // float → integer truncates toward zero (onnxruntime's static_cast).
    const v = INT_TYPES.has(to) ? x().value?.map((d) => (typeof d === 'number' ? Math.trunc(d) : d)) : x().value;
    return [{ elemType: to, shape: x().shape, ...(v ? { value: v } : {}) }];
  }
  if (BROADCAST.has(op) || COMPARE.has(op)) {
    const infos = node.inputs.map((_, i) => get(node, i));
    const shape = broadcastShapes(node, infos.map((i) => i.shape));
    const elemType = COMPARE.has(op) ? DataType.BOOL : op === 'Where' ? infos[1]!.elemType : infos[0]!.elemType;
    const value = op === 'Where' ? foldWhere(infos) : op === 'Equal' ? foldEqual(infos) : foldArithmetic(op, infos, elemType);
    return [{ elemType, shape, ...(value ? { value } : {}) }];
  }
  const indexed = inferIndexOp(node, get);
  if (indexed) return indexed;
  switch (op) {
    case 'Conv': {
      const w = staticDims(node, get(node, 1).shape, 'weight');
      const xs = x().shape;
      const g = windowGeometry(node, w.slice(2), staticDims(node, xs.slice(2), 'spatial'));
      return [float([xs[0]!, w[0]!, ...g.outSize])];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const xs = x().shape;
      const kernel = attrInts(node, 'kernel_shape') ?? fail(node, 'kernel_shape is required');
      const g = windowGeometry(node, kernel, staticDims(node, xs.slice(2), 'spatial'));
      const out = float([xs[0]!, xs[1]!, ...g.outSize]);
      return [out, { elemType: DataType.INT64, shape: out.shape }];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool': {
      const xs = x().shape;
      return [float([xs[0]!, xs[1]!, ...xs.slice(2).map(() => 1)])];
    }
    case 'Gemm': {
      const a = x().shape;
      const b = get(node, 1).shape;
      const m = attrInt(node, 'transA', 0) ? a[1]! : a[0]!;
      const n = attrInt(node, 'transB', 0) ? b[0]! : b[1]!;
      return [float([m, n])];
    }
    case 'MatMul': {
      const a = x().shape;
      const b = get(node, 1).shape;
      if (a.length < 2 || b.length < 2) fail(node, 'MatMul with 1-D operands is not supported');
      const batch = broadcastShapes(node, [a.slice(0, -2), b.slice(0, -2)]);
      return [float([...batch, a[a.length - 2]!, b[b.length - 1]!])];
    }
    case 'Flatten': {
      const xs = x().shape;
      const axis = normAxis(attrInt(node, 'axis', 1), xs.length);
      return [float([product(xs.slice(0, axis)), product(xs.slice(axis))])];
    }
    case 'Reshape': {
      const xs = x().shape;
      const target = constInts(node, 1, get)!;
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? xs[i]! : d));
      const minus = out.indexOf(-1);
      if (minus >= 0) {
        const known = out.filter((_, i) => i !== minus);
        out[minus] = divideDims(node, product(xs), product(known));
      }
      const value = x().value;
      return [{ ...float(out, x().elemType), ...(value ? { value } : {}) }];
    }
    case 'Squeeze': {
      const xs = x().shape;
      const axes = (axesOf(node, constants) ?? xs.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, xs.length));
      const value = x().value;
      return [{ elemType: x().elemType, shape: xs.filter((_, i) => !axes.includes(i)), ...(value ? { value } : {}) }];
    }
    case 'Unsqueeze': {
      const xs = x().shape;
      const rank = xs.length + (axesOf(node, constants) ?? []).length;
      const axes = (axesOf(node, constants) ?? fail(node, 'axes are required')).map((a) => normAxis(a, rank));
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : xs[k++]!);
      const value = x().value;
      return [{ elemType: x().elemType, shape: out, ...(value ? { value } : {}) }];
    }
    case 'Transpose': {
      const xs = x().shape;
      const perm = attrInts(node, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
      const out = perm.map((p) => xs[p]!);
      const value = remapValue(x(), out, (idx) => {
        const src = new Array<number>(idx.length);
        perm.forEach((p, i) => (src[p] = idx[i]!));
        return src;
      });
      return [{ ...float(out), ...(value ? { value } : {}) }];
    }
    case 'Concat': {
      const infos = node.inputs.map((_, i) => get(node, i));
      const rank = infos[0]!.shape.length;
      const axis = normAxis(attrInt(node, 'axis', 0), rank);
      const out = [...infos[0]!.shape];
      out[axis] = addDims(infos.map((i) => i.shape[axis]!));
      const values = infos.map((i) => i.value);
      const value = values.every((v) => v) && rank === 1 ? values.flatMap((v) => v!) : undefined;
      return [{ elemType: infos[0]!.elemType, shape: out, ...(value ? { value } : {}) }];
    }
    case 'Split': {
      const xs = x().shape;
      const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
      const dim = xs[axis];
      if (typeof dim !== 'number') fail(node, 'the split axis must be static');
      let sizes = attrInts(node, 'split') ?? (node.inputs[1] ? (constInts(node, 1, get) as number[]) : undefined);
      if (!sizes) {
        const n = node.outputs.length;
        const chunk = Math.ceil(dim / n);
        sizes = node.outputs.map((_, i) => Math.min(chunk, dim - chunk * i));
      }
      return sizes.map((s) => float(xs.map((d, i) => (i === axis ? s : d))));
    }
    case 'Slice': {
      const xs = x().shape;
      const { starts, ends, axes, steps } = sliceParams(node, xs, get);
      const out = [...xs];
      axes.forEach((axis, i) => {
        out[axis] = sliceLength(xs[axis]!, starts[i]!, ends[i]!, steps[i]!);
      });
      const value = remapValue(x(), out, (idx) => {
        const src = [...idx];
        axes.forEach((axis, i) => (src[axis] = starts[i]! + idx[axis]! * steps[i]!));
        return src;
      });
      return [{ elemType: x().elemType, shape: out, ...(value ? { value } : {}) }];
    }
    case 'Pad': {
      const xs = x().shape;
      const pads = padAmounts(node, xs.length, get, constants);
      return [float(xs.map((d, i) => addDims([d, pads[i]!, pads[i + xs.length]!])))];
    }
    default:
      if (REDUCE.has(op)) {
        const xs = x().shape;
        const axesGiven = op === 'ReduceSum' || opset >= 18 ? axesOf(node, constants) : attrInts(node, 'axes');
        const noop = attrInt(node, 'noop_with_empty_axes', 0) === 1;
        if (axesGiven === undefined && noop) return [float(xs)];
        const axes = (axesGiven ?? xs.map((_, i) => i)).map((a) => normAxis(a, xs.length));
        const keep = attrInt(node, 'keepdims', 1) === 1;
        return [float(keep ? xs.map((d, i) => (axes.includes(i) ? 1 : d)) : xs.filter((_, i) => !axes.includes(i)))];
      }
      unsupported(node);
  }
}
