/**
 * Node order for memory: onnxruntime runs nodes in graph order and frees a tensor after
 * its last reader. Backward nodes that read only forward tensors (the ReLU masks, shapes)
 * are moved to just after the forward node they depend on, so a forward activation's last
 * reader is the forward pass itself and only its small mask outlives it.
 */
import type { Node } from '../onnx/graph.js';

export function scheduleEarly(forward: readonly Node[], added: readonly Node[]): Node[] {
  const forwardIndex = new Map<string, number>();
  forward.forEach((n, i) => n.outputs.forEach((o) => forwardIndex.set(o, i)));
  // An added node is early when all its inputs come from forward nodes or other early nodes.
  const slot = new Map<string, number>(); // tensor → forward position it becomes available after
  const after = new Map<number, Node[]>();
  const late: Node[] = [];
  for (const node of added) {
    let position = -1;
    let early = true;
    for (const input of node.inputs) {
      if (!input) continue;
      const p = forwardIndex.get(input) ?? slot.get(input);
      if (p === undefined) {
        // An initializer (never produced) is available from the start; anything else is late.
        if (isProduced(input, added)) {
          early = false;
          break;
        }
        continue;
      }
      position = Math.max(position, p);
    }
    if (!early || position < 0) {
      late.push(node);
      continue;
    }
    for (const o of node.outputs) slot.set(o, position);
    after.set(position, [...(after.get(position) ?? []), node]);
  }
  const ordered: Node[] = [];
  forward.forEach((n, i) => {
    ordered.push(n, ...(after.get(i) ?? []));
  });
  return [...ordered, ...late];
}

function isProduced(tensor: string, nodes: readonly Node[]): boolean {
  return nodes.some((n) => n.outputs.includes(tensor));
}
