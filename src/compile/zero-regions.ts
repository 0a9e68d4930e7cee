/**
 * Whether GAIA-Z can say anything for a model. Its score counts exact zeros of the
 * gradient at the taps; a zero comes from an op whose derivative is exactly 0 over a region
 * of its input (ReLU below 0, a clipped range, the losers of a max-pool window, positions a
 * slice drops). A tap whose every path to the logits runs only through smooth ops (SiLU,
 * GELU, Sigmoid, Tanh, LayerNorm, convolutions) has a gradient that is zero only where
 * float32 saturates or cancels: its zero ratios are all ≈ 1 and GAIA-Z is near constant
 * (EfficientNet, ConvNeXt: 1.0 for every frame).
 */
import type { Graph, Node } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { ancestors } from './backward.js';

/** Ops whose input gradient is exactly 0 on a region of ordinary inputs. */
const ZERO_REGION_OPS = new Set(['Relu', 'Clip', 'HardSigmoid', 'HardSwish', 'MaxPool', 'Where', 'ScatterND']);
/** Ops that zero the gradient of the elements they drop (none, when they keep them all). */
const SELECTING_OPS = new Set(['Slice', 'Gather']);

/** Elements per sample: the product of the static dims (the batch is symbolic). */
function perSample(info: GraphInfo, name: string): number | undefined {
  const shape = info.tensors.get(name)?.shape;
  return shape?.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
}

function makesZeros(info: GraphInfo, node: Node): boolean {
  if (ZERO_REGION_OPS.has(node.opType)) return true;
  if (!SELECTING_OPS.has(node.opType)) return false;
  const before = perSample(info, node.inputs[0]!);
  const after = perSample(info, node.outputs[0]!);
  return before === undefined || after === undefined || after < before;
}

/** The taps from which some path to `sink` passes an op with a zero-derivative region. */
export function tapsWithZeroRegions(graph: Graph, info: GraphInfo, sink: string, taps: readonly string[]): Set<string> {
  const toSink = ancestors(graph, [sink]);
  const found = new Set<string>();
  for (const tap of taps) {
    const reached = new Set([tap]);
    for (const node of graph.nodes) {
      if (!node.inputs.some((i) => reached.has(i)) || !node.outputs.some((o) => toSink.has(o))) continue;
      if (makesZeros(info, node)) {
        found.add(tap);
        break;
      }
      for (const o of node.outputs) if (o) reached.add(o);
    }
  }
  return found;
}
