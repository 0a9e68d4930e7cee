/**
 * Makes a fixed export batch dynamic. `torch.onnx.export(model, (x,), path)` without
 * dynamic axes writes the batch of the example input into the graph: the input is
 * [1, 3, H, W] and the flatten before the classifier becomes Reshape(x, [1, 512]). The
 * agent scores batches of any size, so the scoring graph needs a symbolic batch: the
 * input's first axis becomes "batch" and a Reshape that keeps the batch in front (its
 * constant target starts with the export batch, and so does its input) copies it instead
 * (target[0] = 0); a Resize to explicit sizes reads its batch from its input. Whether the batch then really flows through the graph to the logits
 * and every tap is checked by the compiler afterwards (`assertBatchFlows`).
 */
import { attr, attrInt, describeNode, producers, type Graph, type Node } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { Tensor } from '../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export const BATCH = 'batch';

export interface DynamicBatch {
  readonly graph: Graph;
  /** The batch the export fixed, when it fixed one. */
  readonly exportBatch?: number;
  /** The Reshape (and Resize) nodes whose target now copies the batch. */
  readonly adjusted: readonly string[];
}

/** The graph input the image goes into (the first non-initializer input). */
function imageInput(graph: Graph) {
  return graph.inputs.find((i) => !graph.initializers.has(i.name));
}

export function withDynamicBatch(graph: Graph, staticInfo: GraphInfo): DynamicBatch {
  const input = imageInput(graph);
  const n = input?.shape?.[0];
  if (!input || typeof n !== 'number') return { graph, adjusted: [] };
  const taken = new Set(graph.inputs.flatMap((i) => (i.shape ?? []).filter((d): d is string => typeof d === 'string')));
  const symbol = taken.has(BATCH) ? `${BATCH}_dynamic` : BATCH;

  const constantTargets = new Map<string, Tensor>();
  for (const node of graph.nodes) {
    const t = node.opType === 'Constant' ? node.attributes.find((a) => a.name === 'value')?.t : undefined;
    if (t) constantTargets.set(node.outputs[0]!, Tensor.fromProto(t, node.outputs[0]!));
  }
  const initializers = new Map(graph.initializers);
  const adjusted: string[] = [];
  const nodes = graph.nodes.flatMap((node): Node[] => {
    if (node.opType === 'Resize') return resizeWithBatch(node, n, staticInfo, initializers, constantTargets, adjusted);
    return [reshapeWithBatch(node)];
  });
  function reshapeWithBatch(node: Node): Node {
    if (node.opType !== 'Reshape') return node;
    const [data, shapeName] = node.inputs as [string, string];
    const target = initializers.get(shapeName) ?? constantTargets.get(shapeName);
    if (!target) return node;
    const values = target.toNumbers();
    if (values[0] !== n || staticInfo.tensors.get(data)?.shape[0] !== n) return node;
    // allowzero=1 (the dynamo exporter's views) reads 0 literally; without other zeros in
    // the target, allowzero=0 means the same, and lets 0 copy the batch.
    if (attrInt(node, 'allowzero', 0) === 1 && values.slice(1).includes(0)) return node;
    const name = `${shapeName}/dynamic_batch/${node.name || node.outputs[0]}`;
    initializers.set(name, Tensor.int64(name, target.dims, [0, ...values.slice(1)]));
    adjusted.push(node.name);
    return { ...node, inputs: [data, name], attributes: node.attributes.filter((a) => a.name !== 'allowzero') };
  }
  return {
    graph: {
      ...graph,
      nodes,
      initializers,
      inputs: graph.inputs.map((i) => (i === input ? { ...i, shape: [symbol, ...input.shape!.slice(1)] } : i)),
      // The exporter's intermediate shapes carry the fixed batch; onnxruntime re-infers them.
      valueInfo: [],
    },
    exportBatch: n,
    adjusted,
  };
}

/**
 * A Resize to explicit sizes names the batch among them (F.interpolate(size=...) exports
 * [1, C, H, W]): the sizes become the input's own batch, read at run time, followed by the
 * constant rest. Shape inference evaluates the result symbolically.
 */
function resizeWithBatch(
  node: Node,
  n: number,
  staticInfo: GraphInfo,
  initializers: Map<string, Tensor>,
  constants: ReadonlyMap<string, Tensor>,
  changed: string[],
): Node[] {
  const [data, , , sizesName] = node.inputs;
  if (!data || !sizesName || getAxes(node)) return [node];
  const sizes = initializers.get(sizesName) ?? constants.get(sizesName);
  const values = sizes?.toNumbers();
  if (!values || values[0] !== n || staticInfo.tensors.get(data)?.shape[0] !== n) return [node];
  const base = `gaia/dynamic_batch/${node.name || node.outputs[0]}`;
  const ints = (suffix: string, v: number[]) => {
    initializers.set(`${base}/${suffix}`, Tensor.int64(`${base}/${suffix}`, [v.length], v));
    return `${base}/${suffix}`;
  };
  const shape: Node = { name: `${base}/shape`, opType: 'Shape', domain: '', inputs: [data], outputs: [`${base}/shape`], attributes: [] };
  const first: Node = {
    name: `${base}/batch`, opType: 'Slice', domain: '',
    inputs: [`${base}/shape`, ints('start', [0]), ints('end', [1])], outputs: [`${base}/batch`], attributes: [],
  };
  const concat: Node = {
    name: `${base}/sizes`, opType: 'Concat', domain: '',
    inputs: [`${base}/batch`, ints('rest', values.slice(1))], outputs: [`${base}/sizes`], attributes: [attr.int('axis', 0)],
  };
  changed.push(node.name);
  const inputs = [...node.inputs];
  inputs[3] = `${base}/sizes`;
  return [shape, first, concat, { ...node, inputs }];
}

const getAxes = (node: Node) => node.attributes.find((a) => a.name === 'axes');

/**
 * After a fixed batch was made dynamic, the batch must flow from the input through every
 * float tensor computed from it to the logits and the taps. A graph that mixes samples
 * under the fixed batch (constant slice-assignment indices, a flatten over the batch read
 * with constant indices) cannot score another batch size; it is refused, naming the first
 * node whose float output lost the symbolic batch although an input had it.
 */
export function assertBatchFlows(graph: Graph, info: GraphInfo, batch: DynamicBatch, tensors: readonly string[]): void {
  if (batch.exportBatch === undefined) return;
  const symbol = String(imageInput(graph)!.shape![0]);
  const mentions = (name: string) => (info.tensors.get(name)?.shape ?? []).some((d) => typeof d === 'string' && d.includes(symbol));
  const culprit = graph.nodes.find(
    (node) => node.inputs.some((i) => i && isFloat(info, i) && mentions(i)) && node.outputs.some((o) => o && isFloat(info, o) && !mentions(o)),
  );
  const bad = tensors.find((t) => info.tensors.get(t)?.shape[0] !== symbol);
  if (!culprit && bad === undefined) return;
  const at = culprit ?? producers(graph).get(bad!);
  throw new GaiaError(
    ErrorCodes.SHAPE_INFERENCE,
    `the model was exported with a fixed batch of ${batch.exportBatch}, and ${at ? describeNode(at) : `tensor "${bad}"`} depends on it ` +
      `(its output has shape [${at ? (info.tensors.get(at.outputs[0]!)?.shape ?? []).join(',') : ''}]), ` +
      'so the scoring graph cannot take other batch sizes. Re-export with a dynamic batch: ' +
      'torch.onnx.export(..., dynamic_shapes=({0: torch.export.Dim("batch")},)) or, with dynamo=False, dynamic_axes={"input": {0: "batch"}}',
    ...(at ? [{ node: at.name }] : []),
  );
}

function isFloat(info: GraphInfo, tensor: string): boolean {
  const t = info.tensors.get(tensor)?.elemType;
  return t === 1 || t === 10 || t === 11 || t === 16;
}
