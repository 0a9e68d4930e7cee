/**
 * A second forward pass inside the scoring graph: re-emits the nodes between some replaced
 * tensors and a target (e.g. the logits), reading the replacements instead. ODIN replays the
 * whole classifier on the perturbed input; ReAct and RankFeat replay the classifier's tail
 * on modified features. Nodes that do not depend on a replaced tensor are shared, not copied.
 */
import type { Graph } from '../onnx/graph.js';
import type { GraphBuilder } from './builder.js';
import { ancestors } from './backward.js';

/** Returns the replayed name of `target`. `replaced` maps forward tensors to their substitutes. */
export function replayForward(graph: Graph, b: GraphBuilder, replaced: ReadonlyMap<string, string>, target: string): string {
  const needed = ancestors(graph, [target]);
  const renamed = new Map(replaced);
  for (const node of graph.nodes) {
    if (!node.outputs.some((o) => needed.has(o))) continue;
    if (!node.inputs.some((i) => renamed.has(i))) continue;
    const outputs = node.outputs.map((o) => (o ? b.fresh(`replay/${node.opType}`) : ''));
    node.outputs.forEach((o, k) => {
      if (!o) return;
      renamed.set(o, outputs[k]!);
      const shape = b.shapeOf(o);
      if (shape) b.shapes.set(outputs[k]!, shape);
    });
    b.nodes.push({ ...node, name: b.fresh(`replay/${node.name || node.opType}`), inputs: node.inputs.map((i) => renamed.get(i) ?? i), outputs });
  }
  return renamed.get(target) ?? target;
}
