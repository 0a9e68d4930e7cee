/**
 * An op's parameters as shape inference and the compiler's rules read them: from attributes
 * (older opsets) or from inputs computable at compile time (newer ones), normalised to every
 * axis of the input.
 */
import { attrInts, attrString, type Dim, type Node, type Shape } from './graph.js';
import { fail } from './shape-errors.js';
import type { TensorInfo } from './tensor-info.js';
import type { Tensor } from './tensor.js';

export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

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

export function constInts(node: Node, index: number, get: (n: Node, i: number) => TensorInfo): Dim[] | undefined {
  if (!node.inputs[index]) return undefined;
  const v = get(node, index).value;
  if (!v) fail(node, `input ${index} ("${node.inputs[index]}") must be computable at compile time`);
  return v;
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
