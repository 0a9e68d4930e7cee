/**
 * The pattern backward pass: where d(seed)/d(tap) is non-zero, as 0/1, for the GAIA-Z head
 * (which counts zeros and needs nothing else). It is the float backward's walk
 * (../backward.ts reversePass: the same nodes, in the same order) with pattern rules, and
 * ORs (Max) the patterns reaching a tensor from several consumers where that one sums.
 */
import { attrInt, describeNode, type Graph, type Shape } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { reversePass, reverseVisits, type Seed, type Visit } from '../backward.js';
import type { GraphBuilder } from '../builder.js';
import { blockedCounts, blockedShape, BLOCKED_COUNT_AREA } from './blocked.js';
import { convPatternRules } from './conv.js';
import { hardSigmoidFromOutput, hardSwishFromOutput } from './output-masks.js';
import { patternRules as otherRules } from './rules.js';
import type { PatternContext, PatternRule, ReluFactors } from './types.js';

/** The rules that match autograd's zero pattern exactly (HardSwish and HardSigmoid read their input). */
export const patternRules: ReadonlyMap<string, PatternRule> = new Map(Object.entries({ ...otherRules, ...convPatternRules }));

/**
 * Where the HardSwish and HardSigmoid masks come from: "output" (default) reads the tensor
 * a fused Conv+activation kernel writes (output-masks.ts; differs from autograd at a few
 * boundary inputs), "input" reads the activation's input, as autograd does, and unfuses them.
 */
export type ActivationMasks = 'output' | 'input';
const outputMaskRules: ReadonlyMap<string, PatternRule> = new Map([
  ...patternRules,
  ['HardSwish', hardSwishFromOutput],
  ['HardSigmoid', hardSigmoidFromOutput],
]);

/**
 * Why the pattern pass cannot be exact for this graph (the first node that has no exact
 * pattern rule), or undefined. Emits nothing.
 */
export function patternUnsupported(graph: Graph, b: GraphBuilder, seeds: readonly string[], targets: readonly string[]): string | undefined {
  for (const { node, needsGrad } of reverseVisits(graph, b, seeds, targets)) {
    const rule = node.domain ? undefined : patternRules.get(node.opType);
    if (!rule) return `${describeNode(node)}: no pattern rule for ${node.domain ? `${node.domain}::` : ''}${node.opType}`;
    const why = rule.check?.({ b, node, needsGrad });
    if (why) return why;
  }
  return undefined;
}

const broadcast = (p: Shape, q: Shape): Shape => p.map((d, i) => (d === 1 ? q[i]! : d));

/** What the pattern pass hands the heads. */
export interface PatternPass {
  /**
   * For each target, a 0/1 tensor that broadcasts to the target's shape (undefined where the
   * seeds do not depend on it): a one-channel pattern stays one channel, so its counts cost
   * one channel (patternCounts); `full` expands it where a caller needs the whole shape.
   */
  readonly patterns: Map<string, string | undefined>;
  /** The shape of a pattern tensor (broadcasts to its forward tensor's shape). */
  readonly shapeOf: (pattern: string) => Shape;
  /** A pattern at its target's full shape. */
  readonly full: (pattern: string, target: string) => string;
  /** The factors of the patterns that a ReLU made from a one-channel pattern. */
  readonly factors: ReadonlyMap<string, ReluFactors>;
  /** The patterns the blocked lowering produced (blocked.ts): patternCounts counts them blocked. */
  readonly blocked: ReadonlySet<string>;
}

/**
 * How the per-layer pattern ops are lowered: "blocked" with ops onnxruntime's CPU provider
 * keeps in its NCHWc layout (blocked.ts), "nchw" with plain ops (Greater/Cast masks, MatMul
 * channel-ORs, ReduceSum counts). Both give the same 0/1 patterns.
 */
export type PatternLayout = 'blocked' | 'nchw';

/**
 * Emits the pattern pass (call patternUnsupported first). Returns, for each target, a 0/1
 * tensor that broadcasts to the target's shape (undefined where the seeds do not depend on
 * it), and the factors of those that a ReLU made from a one-channel pattern.
 */
export function patternBackward(
  graph: Graph,
  b: GraphBuilder,
  seeds: readonly Seed[],
  targets: readonly string[],
  masks: ActivationMasks = 'output',
  layout: PatternLayout = 'blocked',
): PatternPass {
  const blocked = layout === 'blocked';
  const blockedTensors = new Set<string>();
  const groupedOutputs = new Set(graph.nodes.filter((n) => n.opType === 'Conv' && attrInt(n, 'group', 1) > 1).flatMap((n) => n.outputs));
  const shapes = new Map<string, Shape>();
  const factors = new Map<string, ReluFactors>();
  const forwardShape = (name: string): Shape => {
    const s = b.shapeOf(name);
    if (!s) throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `pattern pass: no shape known for "${name}"`);
    return s;
  };
  const patternShape = (name: string) => shapes.get(name) ?? forwardShape(name);
  // OR of 0/1 patterns; Max broadcasts, so one-channel patterns merge without expanding.
  const merge = (list: readonly string[]) =>
    list.slice(1).reduce((acc, p) => {
      const m = b.op1('Max', [acc, p], [], 'pattern_or');
      shapes.set(m, broadcast(patternShape(acc), patternShape(p)));
      return m;
    }, list[0]!);
  const expandTo = (pattern: string, tensor: string): string => {
    const want = forwardShape(tensor);
    const have = patternShape(pattern);
    if (have.length === want.length && have.every((d, i) => d === want[i])) return pattern;
    return b.op1('Expand', [pattern, b.op1('Shape', [tensor])], [], 'pattern_full');
  };
  for (const s of seeds) shapes.set(s.grad, forwardShape(s.tensor));

  const rules = masks === 'output' ? outputMaskRules : patternRules;
  const emit = ({ node, needsGrad }: Visit, outs: Array<string | undefined>): Array<string | undefined> => {
    const rule = rules.get(node.opType)!;
    const gradOutputs = rule.broadcastOk ? outs : outs.map((g, i) => (g === undefined ? g : expandTo(g, node.outputs[i]!)));
    const ctx: PatternContext = {
      b,
      node,
      gradOutputs,
      needsGrad,
      shape: forwardShape,
      patternShape,
      setPatternShape: (name, shape) => shapes.set(name, shape),
      factorsOf: (name) => factors.get(name),
      setFactors: (name, f) => factors.set(name, f),
      blocked,
      blockedTensors,
      fromGroupedConv: (name) => groupedOutputs.has(name),
    };
    const result = rule.emit(ctx);
    node.inputs.forEach((input, i) => {
      const p = result[i];
      if (!needsGrad[i] || !p) return;
      // A pattern passed through unchanged keeps its (possibly one-channel) shape.
      if (!shapes.has(p)) {
        const from = gradOutputs.find((g) => g === p);
        if (from === undefined || !shapes.has(from)) shapes.set(p, forwardShape(input));
      }
    });
    return result;
  };
  const merged = reversePass(graph, b, seeds, targets, { merge, emit });
  const patterns = new Map(targets.map((t) => [t, merged.get(t)]));
  return { patterns, shapeOf: patternShape, full: expandTo, factors, blocked: blockedTensors };
}

/**
 * Ones per (sample, channel) over the spatial axes of a [B, C, spatial...] 0/1 pattern.
 * A factored one is the product of its mask with its one-channel pattern,
 * [B, C, P] × [B, P, 1]: the counts without the full-size product (exact: sums of 0/1).
 */
export function patternCounts(b: GraphBuilder, pattern: string, shape: Shape, factors: ReluFactors | undefined, blocked = false): string {
  const spatial = shape.slice(2);
  if (blocked && !factors && blockedShape(shape) && (shape[2] as number) * (shape[3] as number) < BLOCKED_COUNT_AREA) return blockedCounts(b, pattern, shape);
  if (!factors || !spatial.every((d): d is number => typeof d === 'number') || typeof shape[1] !== 'number') {
    return b.reduce('ReduceSum', pattern, spatial.map((_, i) => i + 2), false);
  }
  const size = spatial.reduce((x, d) => x * d, 1);
  const mask = b.op1('Reshape', [factors.mask, b.ints([0, shape[1], size])]);
  const shared = b.op1('Reshape', [factors.shared, b.ints([0, size, 1])]);
  return b.op1('Reshape', [b.op1('MatMul', [mask, shared], [], 'pattern_count'), b.ints([0, shape[1]])]);
}
