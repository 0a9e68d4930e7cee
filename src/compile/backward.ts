/**
 * Reverse-mode differentiation of a forward graph, with respect to activations only.
 * Given seed gradients at some tensors (e.g. a one-hot at the logits) and a set of target
 * tensors (the taps), it emits the backward nodes for exactly the part of the graph that
 * lies between the targets and the seeds, and returns the gradient tensor of each target.
 * The walk itself (reversePass) is shared with the pattern pass (pattern/backward.ts),
 * which propagates where gradients are non-zero instead of their values.
 */
import { describeNode, type Graph, type Node } from '../onnx/graph.js';
import { DataType } from '../onnx/schema.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { GraphBuilder } from './builder.js';
import { NON_DIFFERENTIABLE, supportedOps, vjpRules } from './rules/index.js';
import type { VjpContext } from './rules/types.js';

export interface Seed {
  /** Forward tensor the seed gradient is attached to. */
  readonly tensor: string;
  /** Name of the tensor holding d(seed)/d(tensor), already emitted in the builder. */
  readonly grad: string;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/** Tensors that depend (differentiably) on any of `sources`. */
export function dependents(graph: Graph, b: GraphBuilder, sources: Iterable<string>): Set<string> {
  const reached = new Set(sources);
  for (const node of graph.nodes) {
    if (NON_DIFFERENTIABLE.has(node.opType)) continue;
    if (!node.inputs.some((i) => reached.has(i))) continue;
    for (const out of node.outputs) {
      const type = b.tensorInfo(out)?.elemType;
      if (out && type !== undefined && FLOAT_TYPES.has(type)) reached.add(out);
    }
  }
  return reached;
}

/** Tensors that `sinks` depend on. */
export function ancestors(graph: Graph, sinks: Iterable<string>): Set<string> {
  const reached = new Set(sinks);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    if (node.outputs.some((o) => reached.has(o))) for (const i of node.inputs) if (i) reached.add(i);
  }
  return reached;
}

/** A node a backward pass differentiates, and which of its inputs need a gradient. */
export interface Visit {
  readonly node: Node;
  readonly needsGrad: boolean[];
}

/**
 * The nodes a backward pass from `seeds` to `targets` differentiates, last first: those
 * with an input that depends on a target and feeds a seed, and an output the pass reaches.
 */
export function reverseVisits(graph: Graph, b: GraphBuilder, seeds: readonly string[], targets: readonly string[]): Visit[] {
  const requires = dependents(graph, b, targets);
  const contributes = ancestors(graph, seeds);
  const reached = new Set(seeds);
  const out: Visit[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    if (NON_DIFFERENTIABLE.has(node.opType)) continue;
    const needsGrad = node.inputs.map((i) => i !== '' && requires.has(i) && contributes.has(i));
    if (!needsGrad.some(Boolean) || !node.outputs.some((o) => o && reached.has(o))) continue;
    out.push({ node, needsGrad });
    node.inputs.forEach((input, i) => needsGrad[i] && reached.add(input));
  }
  return out;
}

/** What a reverse pass propagates: float gradients (this module) or 0/1 patterns (pattern/). */
export interface ReverseRules {
  /** The contributions reaching one tensor from its consumers, combined (two or more). */
  merge(parts: readonly string[]): string;
  /** A node's input contributions (undefined where none), given its outputs' (some defined). */
  emit(visit: Visit, gradOutputs: Array<string | undefined>): Array<string | undefined>;
}

/**
 * The reverse-topological walk both passes share: visits the nodes reverseVisits lists,
 * hands each its outputs' merged contributions and collects its inputs'. Returns, for each
 * target, its merged contribution, or undefined where the seeds do not depend on it.
 */
export function reversePass(
  graph: Graph,
  b: GraphBuilder,
  seeds: readonly Seed[],
  targets: readonly string[],
  rules: ReverseRules,
): Map<string, string | undefined> {
  const parts = new Map<string, string[]>();
  const merged = new Map<string, string>();
  const addPart = (tensor: string, grad: string) => {
    const list = parts.get(tensor);
    if (list) list.push(grad);
    else parts.set(tensor, [grad]);
  };
  const mergedOf = (tensor: string): string | undefined => {
    const cached = merged.get(tensor);
    if (cached) return cached;
    const list = parts.get(tensor);
    if (!list) return undefined;
    const total = list.length === 1 ? list[0]! : rules.merge(list);
    merged.set(tensor, total);
    return total;
  };
  for (const s of seeds) addPart(s.tensor, s.grad);

  for (const visit of reverseVisits(graph, b, seeds.map((s) => s.tensor), targets)) {
    const { node, needsGrad } = visit;
    const gradOutputs = node.outputs.map((o) => (o ? mergedOf(o) : undefined));
    if (!gradOutputs.some((g) => g !== undefined)) continue;
    const grads = rules.emit(visit, gradOutputs);
    node.inputs.forEach((input, i) => {
      const g = grads[i];
      if (needsGrad[i] && g) addPart(input, g);
    });
  }
  return new Map(targets.map((t) => [t, mergedOf(t)]));
}

/**
 * Emits the backward pass into `b`. Returns, for each target, the name of its gradient
 * tensor, or undefined for a target the seeds do not depend on.
 */
export function backward(
  graph: Graph,
  b: GraphBuilder,
  seeds: readonly Seed[],
  targets: readonly string[],
): Map<string, string | undefined> {
  return reversePass(graph, b, seeds, targets, {
    merge: (parts) => b.sum(parts),
    emit: ({ node, needsGrad }, gradOutputs) => {
      const rule = vjpRules.get(node.opType);
      if (!rule || node.domain) {
        throw new GaiaError(
          ErrorCodes.UNSUPPORTED_OP,
          `${describeNode(node)}: operator ${node.domain ? `${node.domain}::` : ''}${node.opType} lies between a tap and the logits, ` +
            `and the backward pass has no rule for it. Supported: ${supportedOps().join(', ')}. ` +
            'Choose taps after this node (--taps), or re-export the model with supported operators.',
          { node: node.name },
        );
      }
      return rule(contextFor(b, node, gradOutputs, needsGrad));
    },
  });
}

function contextFor(
  b: GraphBuilder,
  node: Node,
  gradOutputs: Array<string | undefined>,
  needsGrad: boolean[],
): VjpContext {
  return {
    b,
    node,
    gradOutputs,
    needsGrad,
    shape(name: string) {
      const shape = b.shapeOf(name);
      if (!shape) {
        throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `${describeNode(node)}: no shape known for "${name}"`, { node: node.name });
      }
      return shape;
    },
  };
}
