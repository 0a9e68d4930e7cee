/**
 * Structural checks on a graph, run after every compiler pass in tests and on every
 * compiled model: each name is produced once, every input exists before it is read
 * (which also rules out cycles, nodes being in topological order), and every graph
 * output exists. Errors name the offending node.
 */
import { describeNode, type Graph } from '../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export function verifyGraph(graph: Graph): void {
  const defined = new Set<string>([...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]);
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input && !defined.has(input)) {
        throw new GaiaError(
          ErrorCodes.INVALID_GRAPH,
          `${describeNode(node)} reads "${input}", which no earlier node, initializer or graph input defines (dangling input or cycle)`,
          { node: node.name },
        );
      }
    }
    for (const out of node.outputs) {
      if (!out) continue;
      if (defined.has(out)) {
        throw new GaiaError(ErrorCodes.INVALID_GRAPH, `${describeNode(node)} redefines "${out}"`, { node: node.name });
      }
      defined.add(out);
    }
  }
  for (const out of graph.outputs) {
    if (!defined.has(out.name)) {
      throw new GaiaError(ErrorCodes.INVALID_GRAPH, `graph output "${out.name}" is never produced`);
    }
  }
}
