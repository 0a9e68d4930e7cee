/**
 * Pattern rules for every op the float backward differentiates, except Conv (conv.ts); Relu
 * and HardSwish build their own masks (activation-masks.ts), Clip reads its output
 * (output-masks.ts).
 * Three kinds, by what the op's input gradient is as a function of its output gradient g:
 * - one term per element (activations, BatchNormalization, Mul by a same-shaped operand):
 *   dx = g · d(x). Running the float rule on the 0/1 pattern gives d(x) where g = 1, so its
 *   non-zero indicator is exactly the float gradient's pattern, including where d(x) is
 *   0.0 in float32 (a saturated Sigmoid/Tanh, as torch computes them: rules/activations.ts).
 * - moves (layout ops): the float rule moves the 0/1 values as they are.
 * - sums (broadcast operands, pools, Gemm/MatMul, Resize): dx = Σ coefficient · g. With
 *   non-negative coefficients every sum is positive exactly where a term is non-zero, so
 *   signed coefficients are replaced by their non-zero indicator first. The one way the
 *   float gradient differs is an exact cancellation of its terms to 0.0 (docs/COMPILER.md).
 * Softmax, LogSoftmax and LayerNormalization mix every element of their axis: one non-zero
 * output gradient reaches all inputs (dense).
 */
import { attr, attrFloat, attrInt, attrString, describeNode, type Node, type Shape } from '../../onnx/graph.js';
import { activationRules } from '../rules/activations.js';
import { elementwiseRules, reduceToInput } from '../rules/elementwise.js';
import { layoutRules } from '../rules/layout.js';
import { linearRules } from '../rules/linear.js';
import { poolingRules } from '../rules/pooling.js';
import { resampleRules } from '../rules/resample.js';
import type { VjpRule } from '../rules/types.js';
import { hardSwish, relu } from './activation-masks.js';
import { clipFromOutput } from './output-masks.js';
import { fromCount, nonZero, nonZeroOf } from './binary.js';
import type { PatternContext, PatternRule } from './types.js';

const sameShape = (p: Shape, q: Shape) => p.length === q.length && p.every((d, i) => d === q[i]);

/** The output pattern at the output's full shape. */
function fullOutput(ctx: PatternContext, index = 0): string {
  const g = ctx.gradOutputs[index]!;
  const y = ctx.node.outputs[index]!;
  return sameShape(ctx.patternShape(g), ctx.shape(y)) ? g : ctx.b.op1('Expand', [g, ctx.b.op1('Shape', [y])]);
}

/** One term per element: the float rule's result, as its non-zero indicator. */
const perElement = (rule: VjpRule): PatternRule => ({
  emit: (ctx) => rule(ctx).map((g) => (g === undefined ? undefined : nonZero(ctx.b, g))),
});

/** The float rule already returns 0/1 (a mask times g, or a selection of g). */
const binaryResult = (rule: VjpRule, broadcastOk = false): PatternRule => ({ broadcastOk, emit: (ctx) => rule(ctx) });

/** Sums of 0/1 with unit coefficients (scatter-add, ReduceSum): counts → 0/1. */
const counts = (rule: VjpRule): PatternRule => ({
  emit: (ctx) => rule(ctx).map((g) => (g === undefined ? undefined : fromCount(ctx.b, g))),
});

const passThrough: PatternRule = { broadcastOk: true, emit: (ctx) => [ctx.gradOutputs[0]] };

/** Add, Sum, Sub: each operand's pattern is the output's, OR-reduced over its broadcast axes. */
const sumLike: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const out = ctx.shape(ctx.node.outputs[0]!);
    return ctx.node.inputs.map((input, i) => {
      if (!ctx.needsGrad[i]) return undefined;
      const shape = ctx.shape(input);
      if (sameShape(shape, out)) return ctx.gradOutputs[0];
      return fromCount(ctx.b, reduceToInput(ctx.b, fullOutput(ctx), out, input, shape));
    });
  },
};

/** The shape of a broadcast of p and q (right-aligned), or undefined where they do not broadcast. */
function broadcastShape(p: Shape, q: Shape): Shape | undefined {
  const n = Math.max(p.length, q.length);
  const out: Shape[number][] = [];
  for (let i = 0; i < n; i++) {
    const a = p[i - n + p.length] ?? 1;
    const c = q[i - n + q.length] ?? 1;
    if (a !== 1 && c !== 1 && a !== c) return undefined;
    out.push(a === 1 ? c : a);
  }
  return out;
}

/**
 * Mul: d a = g · b, so a's pattern is g AND (b ≠ 0), OR-reduced over a's broadcast axes.
 * Reduced (an SE block's gate reading its feature map), the sum Σ g·|b| over those axes is
 * positive exactly where a term is non-zero: one Abs instead of a full-size indicator.
 * A one-channel g times the other operand already has the output's shape when that operand
 * has it (an SE block's feature map, or its [B, C, 1, 1] gate): no full-size Expand of g.
 */
const mul: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b, node } = ctx;
    const out = ctx.shape(node.outputs[0]!);
    let full: string | undefined;
    const gradFor = (other: string) => {
      const g = ctx.gradOutputs[0]!;
      const product = broadcastShape(ctx.patternShape(g), ctx.shape(other));
      return product && sameShape(product, out) ? g : (full ??= fullOutput(ctx));
    };
    return node.inputs.map((input, i) => {
      if (!ctx.needsGrad[i]) return undefined;
      const other = node.inputs[1 - i]!;
      const g = gradFor(other);
      const shape = ctx.shape(input);
      if (sameShape(shape, out)) return b.op1('Mul', [g, nonZeroOf(b, other, 'pattern_mul')]);
      if (b.constant(other)) return fromCount(b, reduceToInput(b, b.op1('Mul', [g, nonZeroOf(b, other, 'pattern_mul')]), out, input, shape));
      return nonZero(b, reduceToInput(b, b.op1('Mul', [g, b.op1('Abs', [other])]), out, input, shape));
    });
  },
};

/** Div: d a = g / b (b ≠ 0 where y is finite); d b = −g · y / b, zero where y is. */
const div: PatternRule = {
  emit: (ctx) => {
    const { b, node } = ctx;
    const out = ctx.shape(node.outputs[0]!);
    return node.inputs.map((input, i) => {
      if (!ctx.needsGrad[i]) return undefined;
      const local = i === 0 ? ctx.gradOutputs[0]! : b.op1('Mul', [ctx.gradOutputs[0]!, nonZero(b, node.outputs[0]!)]);
      const shape = ctx.shape(input);
      return sameShape(shape, out) ? local : fromCount(b, reduceToInput(b, local, out, input, shape));
    });
  },
};

/**
 * BatchNormalization (inference): dx = g · scale/√(var+ε) per channel, computed in float32
 * as rules/normalization.ts does; channels whose factor is 0 get no gradient.
 */
const batchNorm: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => {
    const { b, node } = ctx;
    const s = b.constant(node.inputs[1]!)!.toFloat32();
    const v = b.constant(node.inputs[4]!)!.toFloat32();
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const keep = new Float32Array(s.length);
    for (let c = 0; c < s.length; c++) keep[c] = Math.fround(s[c]! * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v[c]! + eps))))) !== 0 ? 1 : 0;
    if (keep.every((k) => k === 1)) return [ctx.gradOutputs[0]];
    const rank = ctx.shape(node.inputs[0]!).length;
    return [b.op1('Mul', [ctx.gradOutputs[0]!, b.floatTensor('pattern_bn_keep', [s.length, ...new Array<number>(rank - 2).fill(1)], keep)])];
  },
  check: ({ b, node }) =>
    attrInt(node, 'training_mode', 0) === 1 || !b.constant(node.inputs[1]!) || !b.constant(node.inputs[4]!)
      ? `${describeNode(node)} is not an inference-mode BatchNormalization with constant statistics`
      : undefined,
};

/**
 * Gemm and MatMul: the float rule on the pattern, with every operand that acts as a
 * coefficient replaced by its non-zero indicator (and alpha, beta by 1 unless 0).
 */
function withBinaryOperands(rule: VjpRule): PatternRule {
  return {
    emit: (ctx) => {
      const { b, node } = ctx;
      const operands = node.inputs.map((input, i) => {
        if (!input || i > 1) return input;
        const nz = nonZeroOf(b, input, 'pattern_linear');
        b.shapes.set(nz, ctx.shape(input));
        return nz;
      });
      const unit = (name: string) => (a: Node['attributes'][number]) =>
        a.name === name && (a.f ?? 1) !== 0 ? attr.float(name, 1) : a;
      const binaryNode: Node = { ...node, inputs: operands, attributes: node.attributes.map(unit('alpha')).map(unit('beta')) };
      return rule({ ...ctx, node: binaryNode }).map((g) => (g === undefined ? undefined : fromCount(b, g)));
    },
  };
}

/** Dense along the normalised axes: any non-zero output gradient there reaches every input. */
function dense(ctx: PatternContext, g: string, axes: number[]): string {
  const any = ctx.b.reduce('ReduceMax', g, axes, true);
  const shape = ctx.shape(ctx.node.inputs[0]!).map((d, i) => (axes.includes(i) ? 1 : d));
  ctx.setPatternShape(any, shape);
  return any;
}

const axisOf = (ctx: PatternContext, fallback: number) => {
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const a = attrInt(ctx.node, 'axis', fallback);
  return a < 0 ? a + rank : a;
};

/** Softmax: dx = y ⊙ (g − Σ g⊙y): dense, and zero where y underflowed to 0. */
const softmax: PatternRule = {
  emit: (ctx) => {
    const axis = axisOf(ctx, ctx.b.opset >= 13 ? -1 : 1);
    return [ctx.b.op1('Mul', [dense(ctx, ctx.gradOutputs[0]!, [axis]), nonZero(ctx.b, ctx.node.outputs[0]!)])];
  },
};

/** LogSoftmax: dx = g − softmax ⊙ Σ g: dense. */
const logSoftmax: PatternRule = {
  broadcastOk: true,
  emit: (ctx) => [dense(ctx, fullOutput(ctx), [axisOf(ctx, ctx.b.opset >= 13 ? -1 : 1)])],
};

/** LayerNormalization: dx = σ⁻¹(h − mean h − x̂·mean(h x̂)), h = g·γ: dense where γ ≠ 0. */
const layerNorm: PatternRule = {
  check: ({ node, needsGrad }) => (needsGrad[1] || needsGrad[2] ? `${describeNode(node)} has a scale that depends on the input` : undefined),
  emit: (ctx) => {
    const { b, node } = ctx;
    const rank = ctx.shape(node.inputs[0]!).length;
    const first = axisOf(ctx, -1);
    const h = b.op1('Mul', [ctx.gradOutputs[0]!, nonZeroOf(b, node.inputs[1]!, 'pattern_ln_scale')]);
    return [dense(ctx, h, Array.from({ length: rank - first }, (_, i) => first + i))];
  },
};

/** Resize: an interpolation matrix per axis; nearest and linear weights are ≥ 0, cubic's are not. */
const resize: PatternRule = {
  ...perElement(resampleRules.Resize!),
  check: ({ node }) =>
    attrString(node, 'mode', 'nearest') === 'cubic' ? `${describeNode(node)} resizes with cubic weights (negative lobes can cancel)` : undefined,
};

const a = activationRules;
const e = elementwiseRules;
const l = layoutRules;
const p = poolingRules;

export const patternRules: Record<string, PatternRule> = {
  Relu: relu,
  // Exact from the output (output-masks.ts), which keeps onnxruntime's fused Conv+Clip.
  Clip: clipFromOutput,
  LeakyRelu: perElement(a.LeakyRelu!),
  Sigmoid: perElement(a.Sigmoid!),
  Tanh: perElement(a.Tanh!),
  HardSigmoid: perElement(a.HardSigmoid!),
  HardSwish: hardSwish,
  Erf: perElement(a.Erf!),
  Gelu: perElement(a.Gelu!),
  Identity: passThrough,
  Dropout: passThrough,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Add: sumLike,
  Sum: sumLike,
  Sub: sumLike,
  Mul: mul,
  Div: div,
  Pow: perElement(e.Pow!),
  Sqrt: perElement(e.Sqrt!),
  Reciprocal: perElement(e.Reciprocal!),
  Expand: counts(e.Expand!),
  Where: counts(e.Where!),
  Flatten: binaryResult(l.Flatten!),
  Reshape: binaryResult(l.Reshape!),
  Squeeze: binaryResult(l.Squeeze!),
  Unsqueeze: binaryResult(l.Unsqueeze!),
  Transpose: binaryResult(l.Transpose!),
  Concat: binaryResult(l.Concat!),
  Split: binaryResult(l.Split!),
  Slice: binaryResult(l.Slice!),
  Pad: binaryResult(l.Pad!),
  ScatterND: binaryResult(l.ScatterND!),
  Gather: counts(l.Gather!),
  MaxPool: counts(p.MaxPool!),
  AveragePool: perElement(p.AveragePool!),
  // The output pattern [B, C, 1, 1] already broadcasts over the input's positions.
  GlobalAveragePool: passThrough,
  ReduceMean: perElement(p.ReduceMean!),
  ReduceSum: counts(p.ReduceSum!),
  Gemm: withBinaryOperands(linearRules.Gemm!),
  MatMul: withBinaryOperands(linearRules.MatMul!),
  Resize: resize,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
