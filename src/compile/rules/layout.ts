/**
 * Ops that move elements without changing them: reshapes, transposes, concatenation,
 * splitting, slicing and constant padding. Each gradient moves the elements back.
 */
import { attr, attrInt, attrInts, attrString, describeNode } from '../../onnx/graph.js';
import { padAmounts, sliceParams } from '../../onnx/op-params.js';
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

/**
 * ScatterND without reduction (the slice-assignment x[:, :c] = y both exporters emit):
 * positions written by `updates` take their gradient from there, the rest from `data`.
 * The indices are runtime tensors of the forward graph, so the rule reuses them.
 * https://onnx.ai/onnx/operators/onnx__ScatterND.html
 */
const scatterND: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const reduction = attrString(node, 'reduction', 'none');
  if (reduction !== 'none') unsupported(ctx, `scatters with reduction "${reduction}"; only plain assignment is supported`);
  const [, indices, updates] = node.inputs as [string, string, string];
  const g = g0(ctx);
  return [
    ctx.needsGrad[0] ? b.op1('ScatterND', [g, indices, b.zerosLike(updates)], [], 'scatter_grad') : undefined,
    undefined,
    ctx.needsGrad[2] ? b.op1('GatherND', [g, indices], [], 'scatter_updates_grad') : undefined,
  ];
};

/** Gather along an axis: gradients of repeated indices add up (ScatterND, reduction add). */
const gather: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [data, indices] = node.inputs as [string, string];
  const ds = ctx.shape(data);
  const axis = normAxis(attrInt(node, 'axis', 0), ds.length);
  if (b.opset < 16) unsupported(ctx, `needs ScatterND with reduction "add" (opset ≥ 16) for its gradient; re-export with opset_version=17`);
  // Move the gathered axis first, scatter-add index rows into zeros, move it back.
  const perm = [axis, ...ds.map((_, i) => i).filter((i) => i !== axis)];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const rankIdx = ctx.shape(indices).length;
  const gPerm = [...Array.from({ length: rankIdx }, (_, i) => axis + i), ...ds.map((_, i) => i).filter((i) => i < axis).map((i) => i), ...ds.map((_, i) => i).filter((i) => i > axis).map((i) => i + rankIdx - 1)];
  const gMoved = axis === 0 ? g0(ctx) : b.op1('Transpose', [g0(ctx)], [attr.ints('perm', gPerm)]);
  const zeros = axis === 0 ? b.zerosLike(data) : b.zerosLike(b.op1('Transpose', [data], [attr.ints('perm', perm)]));
  // Negative indices count from the end, as Gather allows.
  const dim = b.op1('Gather', [b.op1('Shape', [data]), b.ints([axis])]);
  const idx = b.op1('Cast', [indices], [attr.int('to', 7)]);
  const wrapped = b.op1('Where', [b.op1('Less', [idx, b.ints([0])]), b.op1('Add', [idx, dim]), idx]);
  const scattered = b.op1('ScatterND', [zeros, b.unsqueeze(wrapped, [rankIdx]), gMoved], [attr.string('reduction', 'add')], 'gather_grad');
  return [axis === 0 ? scattered : b.op1('Transpose', [scattered], [attr.ints('perm', inverse)]), undefined];
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
  ScatterND: scatterND,
  Gather: gather,
};
