/**
 * Static shape inference for the ops CNN classifier exports contain. Spatial sizes are
 * static; the batch dimension stays symbolic (whatever name the model's input declares).
 * Small integer tensors (the Shape → Gather → Concat → Reshape chains exporters emit)
 * are evaluated symbolically, so a Reshape's target shape is known at compile time.
 */
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  describeNode,
  type Dim,
  type Graph,
  type Node,
  type Shape,
} from './graph.js';
import { DataType } from './schema.js';
import { Tensor } from './tensor.js';
import { windowGeometry } from './window-geometry.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface TensorInfo {
  elemType: number;
  shape: Shape;
  /**
   * Element values of a small tensor known at compile time: shape vectors (possibly
   * symbolic) and the scalar arithmetic exporters build pads and scales with.
   */
  value?: Dim[];
}

export interface GraphInfo {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Constant tensors: initializers and the outputs of Constant nodes. */
  readonly constants: ReadonlyMap<string, Tensor>;
}

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

const INT_TYPES = new Set<number>([DataType.INT64, DataType.INT32]);
const FLOAT_VALUE_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE]);

function smallIntValue(t: Tensor): { value?: Dim[] } {
  if ((INT_TYPES.has(t.dataType) || FLOAT_VALUE_TYPES.has(t.dataType)) && t.size <= 64) return { value: t.toNumbers() };
  return {};
}

/** Unary ops folded on compile-time values (TF-style "same" padding computes its pads with them). */
const UNARY_FOLD: Record<string, (v: number) => number> = {
  Ceil: Math.ceil,
  Floor: Math.floor,
  Round: (v) => (Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v)),
  Neg: (v) => -v,
  Abs: Math.abs,
  Sqrt: Math.sqrt,
  Relu: (v) => Math.max(v, 0),
  Identity: (v) => v,
  Sign: Math.sign,
};

function fail(node: Node, what: string): never {
  throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(node)}: ${what}`, { node: node.name });
}

/**
 * An op this module has no rule for is an unsupported op, not a shape failure; the
 * compiler adds the list of supported ops (compile/op-support.ts), which lives above this layer.
 */
export const NO_SHAPE_RULE = 'is not supported by the compiler';

function unsupported(node: Node): never {
  const domain = node.domain || 'ai.onnx';
  throw new GaiaError(
    ErrorCodes.UNSUPPORTED_OP,
    `${describeNode(node)}: operator ${domain === 'ai.onnx' ? '' : `${domain}::`}${node.opType} (domain "${domain}") ${NO_SHAPE_RULE}`,
    { node: node.name },
  );
}

function staticDims(node: Node, shape: Shape, what: string): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : fail(node, `${what} dimension "${d}" must be static`)));
}

export function broadcastShapes(node: Node, shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) fail(node, `cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
    }
    out.push(dim);
  }
  return out;
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Axes from the attribute (older opsets) or from the constant second input (newer ones). */
export function axesOf(node: Node, constants: ReadonlyMap<string, Tensor>, inputIndex = 1): number[] | undefined {
  const fromAttr = attrInts(node, 'axes');
  if (fromAttr) return fromAttr;
  const name = node.inputs[inputIndex];
  if (!name) return undefined;
  const t = constants.get(name);
  if (!t) fail(node, `axes input "${name}" must be a constant`);
  return t.toNumbers();
}

function constInts(node: Node, index: number, get: (n: Node, i: number) => TensorInfo): Dim[] | undefined {
  if (!node.inputs[index]) return undefined;
  const v = get(node, index).value;
  if (!v) fail(node, `input ${index} ("${node.inputs[index]}") must be computable at compile time`);
  return v;
}

function product(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === 'number')
    ? (dims as number[]).reduce((a, b) => a * b, 1)
    : dims.length === 1
      ? dims[0]!
      : `(${dims.join('*')})`;
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

/**
 * Resize's output shape: the `sizes` input, or floor(size · scale) per axis; `axes`
 * (opset 18) limits both to some axes. https://onnx.ai/onnx/operators/onnx__Resize.html
 */
export function resizeShape(node: Node, xs: Shape, get: (node: Node, i: number) => TensorInfo): Dim[] {
  const { scales, sizes } = resizeParams(node, xs, get);
  return xs.map((d, i) => {
    if (sizes) return sizes[i]!;
    if (scales![i] === 1) return d;
    if (typeof d !== 'number') fail(node, `resizes the dynamic axis ${i}`);
    return Math.floor(d * scales![i]!);
  });
}

/** Per-axis scales or sizes of a Resize, expanded to every axis of the input. */
export function resizeParams(
  node: Node,
  xs: Shape,
  get: (node: Node, i: number) => TensorInfo,
): { scales?: number[]; sizes?: Dim[] } {
  const rank = xs.length;
  const axes = (attrInts(node, 'axes') ?? xs.map((_, i) => i)).map((a) => normAxis(a, rank));
  const expand = <T>(values: T[], fill: (axis: number) => T): T[] => {
    if (values.length !== axes.length) fail(node, `has ${values.length} scales or sizes for ${axes.length} axes`);
    return xs.map((_, i) => (axes.includes(i) ? values[axes.indexOf(i)]! : fill(i)));
  };
  const sizesName = node.inputs[3];
  if (sizesName) {
    const v = constInts(node, 3, get) ?? fail(node, 'sizes must be computable at compile time');
    if (attrString(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') fail(node, 'keep_aspect_ratio_policy other than "stretch" is not supported');
    return { sizes: expand(v, (i) => xs[i]!) };
  }
  const scalesName = node.inputs[2];
  if (!scalesName) fail(node, 'needs scales or sizes');
  const values = get(node, 2).value ?? fail(node, `scales "${scalesName}" must be a constant`);
  if (values.some((v) => typeof v !== 'number')) fail(node, `scales "${scalesName}" must be a constant`);
  return { scales: expand(values as number[], () => 1) };
}

export function sliceParams(
  node: Node,
  xs: Shape,
  get: (node: Node, i: number) => TensorInfo,
): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } {
  const ints = (i: number): number[] | undefined => {
    const v = constInts(node, i, get);
    if (v && v.some((d) => typeof d !== 'number')) fail(node, `input ${i} of Slice must be static`);
    return v as number[] | undefined;
  };
  const starts = attrInts(node, 'starts') ?? ints(1)!;
  const ends = attrInts(node, 'ends') ?? ints(2)!;
  const axes = (attrInts(node, 'axes') ?? ints(3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, xs.length));
  const steps = ints(4) ?? starts.map(() => 1);
  const clamped = axes.map((axis, i) => {
    const dim = xs[axis];
    if (typeof dim !== 'number') {
      return { start: starts[i]!, end: ends[i]! };
    }
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    return step > 0
      ? { start: clamp(starts[i]!, 0, dim), end: clamp(ends[i]!, 0, dim) }
      : { start: clamp(starts[i]!, -1, dim - 1), end: clamp(ends[i]!, -1, dim - 1) };
  });
  return { starts: clamped.map((c) => c.start), ends: clamped.map((c) => c.end), axes, steps };
}

function sliceLength(dim: Dim, start: number, end: number, step: number): Dim {
  if (typeof dim !== 'number') {
    if (start === 0 && end >= 2 ** 31 && step === 1) return dim;
    return `slice(${dim})`;
  }
  return Math.max(0, Math.ceil((end - start) / step));
}

/**
 * Rearranges a compile-time value (row-major) into `outShape`, reading element `src(idx)`
 * of the input for output index `idx`. Undefined when either shape is not static.
 */
function remapValue(input: TensorInfo, outShape: Shape, src: (idx: number[]) => number[]): Dim[] | undefined {
  const v = input.value;
  const inShape = input.shape;
  if (!v || !inShape.every((d) => typeof d === 'number') || !outShape.every((d) => typeof d === 'number')) return undefined;
  const ins = inShape as number[];
  const outs = outShape as number[];
  const count = outs.reduce((a, b) => a * b, 1);
  const result: Dim[] = [];
  for (let flat = 0; flat < count; flat++) {
    const idx = new Array<number>(outs.length);
    let rest = flat;
    for (let k = outs.length - 1; k >= 0; k--) {
      idx[k] = rest % outs[k]!;
      rest = Math.floor(rest / outs[k]!);
    }
    const from = src(idx).reduce((acc, i, k) => acc * ins[k]! + i, 0);
    result.push(v[from]!);
  }
  return result;
}

export function padAmounts(
  node: Node,
  rank: number,
  get: (node: Node, i: number) => TensorInfo,
  constants: ReadonlyMap<string, Tensor>,
): number[] {
  const fromAttr = attrInts(node, 'pads');
  let pads = fromAttr ?? (constInts(node, 1, get) as number[] | undefined);
  if (!pads) fail(node, 'pads are required');
  const axes = node.inputs[3] ? axesOf(node, constants, 3)!.map((a) => normAxis(a, rank)) : undefined;
  if (axes) {
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, i) => {
      full[a] = pads![i]!;
      full[a + rank] = pads![i + axes.length]!;
    });
    pads = full;
  }
  return pads;
}

function addDims(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((a, b) => a + b, 0);
  const sym = dims.filter((d) => d !== 0);
  return sym.length === 1 ? sym[0]! : `(${sym.join('+')})`;
}

/**
 * total / known for the -1 of a Reshape, where either may be a symbolic product such as
 * "(batch*128*1*1)": symbolic factors cancel, numeric ones divide.
 */
function divideDims(node: Node, total: Dim, known: Dim): Dim {
  if (typeof total === 'number' && typeof known === 'number') return total / known;
  if (total === known) return 1;
  const t = factors(total);
  const k = factors(known);
  for (const sym of k.symbols) {
    const i = t.symbols.indexOf(sym);
    if (i < 0) fail(node, `cannot infer -1 in Reshape from ${total} / ${known}`);
    t.symbols.splice(i, 1);
  }
  if (k.number === 0 || t.number % k.number !== 0) fail(node, `cannot infer -1 in Reshape from ${total} / ${known}`);
  const n = t.number / k.number;
  if (t.symbols.length === 0) return n;
  const sym = t.symbols.join('*');
  return n === 1 && t.symbols.length === 1 ? sym : `(${n === 1 ? sym : `${sym}*${n}`})`;
}

/** A dimension as symbolic factors times a number. */
function factors(d: Dim): { symbols: string[]; number: number } {
  if (typeof d === 'number') return { symbols: [], number: d };
  const parts = splitProduct(d);
  const symbols = parts.filter((f) => Number.isNaN(Number(f)));
  const number = parts.filter((f) => !Number.isNaN(Number(f))).reduce((a, f) => a * Number(f), 1);
  return { symbols, number };
}

/** The factors of a symbolic product, nested or not: "((batch*4)*16)" → [batch, 4, 16]. */
function splitProduct(d: string): string[] {
  // Only a pure product may lose its parentheses; a sum or quotient stays one factor.
  if (/[+/]/.test(d) || d.includes('slice(') || d.includes('range(')) return [d];
  return d.replace(/[()]/g, '').split('*');
}

/** Equal on shape values: a symbolic dimension is never negative (TorchScript's -1 tests). */
function foldEqual(infos: TensorInfo[]): Dim[] | undefined {
  if (!infos.every((i) => i.value) || infos.length !== 2) return undefined;
  const [a, b] = [infos[0]!.value!, infos[1]!.value!];
  const out: Dim[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a.length === 1 ? a[0]! : a[i]!;
    const y = b.length === 1 ? b[0]! : b[i]!;
    if (typeof x === 'number' && typeof y === 'number') out.push(x === y ? 1 : 0);
    else if (x === y) out.push(1);
    else if ((typeof x === 'number' && x < 0) || (typeof y === 'number' && y < 0)) out.push(0);
    else return undefined;
  }
  return out;
}

function foldWhere(infos: TensorInfo[]): Dim[] | undefined {
  const [c, a, b] = infos.map((i) => i.value);
  if (!c || !a || !b) return undefined;
  const n = Math.max(c.length, a.length, b.length);
  const at = (v: Dim[], i: number) => (v.length === 1 ? v[0]! : v[i]!);
  return Array.from({ length: n }, (_, i) => (at(c, i) ? at(a, i) : at(b, i)));
}

function foldArithmetic(op: string, infos: TensorInfo[], elemType: number): Dim[] | undefined {
  if (!infos.every((i) => i.value) || infos.length !== 2) return undefined;
  const [a, b] = [infos[0]!.value!, infos[1]!.value!];
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.length === 1 ? a[0]! : a[i]!;
    const y = b.length === 1 ? b[0]! : b[i]!;
    if (typeof x !== 'number' || typeof y !== 'number') {
      if (op === 'Mul' && (x === 1 || y === 1)) out.push(x === 1 ? y : x);
      else if (op === 'Mul') out.push(`(${x}*${y})`);
      else if (op === 'Div' && y === 1) out.push(x);
      else return undefined;
      continue;
    }
    switch (op) {
      case 'Add': out.push(x + y); break;
      case 'Sub': out.push(x - y); break;
      case 'Mul': out.push(x * y); break;
      case 'Div': out.push(INT_TYPES.has(elemType) ? Math.trunc(x / y) : x / y); break;
      case 'Max': out.push(Math.max(x, y)); break;
      case 'Min': out.push(Math.min(x, y)); break;
      case 'Pow': out.push(x ** y); break;
      default: return undefined;
    }
  }
  return out;
}
