/**
 * Ops that move elements without changing them: reshapes, transposes, concatenation,
 * splitting, slicing and constant padding. Each gradient moves the elements back.
 */
import { attr, attrInt, attrInts, attrString, describeNode } from '../../onnx/graph.js';
import { padAmounts, sliceParams } from '../../onnx/shapes.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { g0, type VjpContext, type VjpRule } from './types.js';

function unsupported(ctx: VjpContext, why: string): never {
  throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(ctx.node)} ${why}`, { node: ctx.node.name });
}

const staticDim = (ctx: VjpContext, name: string, axis: number): number => {
  const d = ctx.shape(name)[axis];
  return typeof d === 'number' ? d : unsupported(ctx, `needs a static size on axis ${axis} of "${name}"`);
};

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Flatten, Reshape, Squeeze, Unsqueeze: same elements, the input's shape. */
const reshapeBack: VjpRule = (ctx) => [ctx.b.reshapeLike(g0(ctx), ctx.node.inputs[0]!)];

const transpose: VjpRule = (ctx) => {
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.b.op1('Transpose', [g0(ctx)], [attr.ints('perm', inverse)])];
};

const concat: VjpRule = (ctx) => {
  const { node } = ctx;
  const rank = ctx.shape(node.inputs[0]!).length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const sizes = node.inputs.map((input) => staticDim(ctx, input, axis));
  const parts = ctx.b.split(g0(ctx), sizes, axis);
  return parts.map((p, i) => (ctx.needsGrad[i] ? p : undefined));
};

const split: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const rank = ctx.shape(node.inputs[0]!).length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const parts = node.outputs.map((out, i) => ctx.gradOutputs[i] ?? b.zerosLike(out));
  return [b.op1('Concat', parts, [attr.int('axis', axis)], 'split_grad')];
};

const slice: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const get = (n: typeof node, i: number) => {
    const info = b.tensorInfo(n.inputs[i]!);
    if (!info) return unsupported(ctx, `has a Slice parameter "${n.inputs[i]}" that is not known at compile time`);
    return info;
  };
  const { starts, ends, axes, steps } = sliceParams(node, xs, get);
  if (steps.some((s) => s !== 1)) unsupported(ctx, `slices with steps [${steps.join(',')}]; only step 1 is supported`);
  const pads = new Array<number>(2 * xs.length).fill(0);
  axes.forEach((axis, i) => {
    const dim = staticDim(ctx, x, axis);
    pads[axis] = starts[i]!;
    pads[axis + xs.length] = dim - Math.max(ends[i]!, starts[i]!);
  });
  return [b.pad(g0(ctx), pads)];
};

const pad: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') unsupported(ctx, `pads in mode "${mode}"; only constant padding is supported`);
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const get = (n: typeof node, i: number) => b.tensorInfo(n.inputs[i]!) ?? unsupported(ctx, 'has pads that are not known at compile time');
  const pads = padAmounts(node, xs.length, get, b.info.constants);
  if (pads.some((p) => p < 0)) unsupported(ctx, `has negative pads [${pads.join(',')}]`);
  const axes = xs.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + xs.length] !== 0);
  if (axes.length === 0) return [g0(ctx)];
  const starts = axes.map((a) => pads[a]!);
  const ends = axes.map((a) => pads[a]! + staticDim(ctx, x, a));
  return [b.slice(g0(ctx), starts, ends, axes)];
};

export const layoutRules: Record<string, VjpRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
};
