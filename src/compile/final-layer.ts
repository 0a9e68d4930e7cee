/**
 * The classifier's final affine layer, logits = W f + b, read from the graph's constants:
 * fDBD measures distances to the decision boundaries it draws and ViM centres the features
 * on its origin −pinv(W) b. A tail that is not affine in the penultimate features (a second
 * hidden layer, a non-constant weight) is refused, naming what was found.
 */
import { attrFloat, attrInt, defaultOpset, describeNode, producers, type Graph, type Model, type Node } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { findFeatures, findLogits } from './classifier.js';
import { inferShapesForCompile } from './op-support.js';

export interface FinalLayer {
  readonly numClasses: number;
  readonly dim: number;
  /** W, row-major [numClasses, dim], float64. */
  readonly weight: Float64Array;
  /** b [numClasses] (zeros when the layer has none). */
  readonly bias: Float64Array;
}

const fail = (why: string, node?: Node): never => {
  throw new GaiaError(
    ErrorCodes.BAD_HEAD,
    `fdbd and vim need logits that are an affine function W f + b of the penultimate features (Gemm, or MatMul with an optional bias Add, ` +
      `with constant weights): ${why}${node ? ` (at ${describeNode(node)})` : ''}; leave them out of --heads for this model`,
    node ? { node: node.name } : {},
  );
};

function constantValues(info: GraphInfo, name: string | undefined, node: Node): { data: Float64Array; dims: readonly number[] } {
  const t = name === undefined || name === '' ? undefined : info.constants.get(name);
  if (!t) return fail(`input "${name}" is not a constant`, node);
  return { data: Float64Array.from(t.toNumbers()), dims: t.dims };
}

/** W and b of the layer between `penultimate` and `logits` (findFeatures has located both). */
export function finalLinearLayer(graph: Graph, info: GraphInfo, logits: string, penultimate: string, numClasses: number): FinalLayer {
  const byTensor = producers(graph);
  let node = byTensor.get(logits) ?? fail('the logits are a graph input');
  const bias = new Float64Array(numClasses);
  const addBias = (values: { data: Float64Array }, scale: number, at: Node) => {
    if (values.data.length !== numClasses && values.data.length !== 1) fail(`a bias of ${values.data.length} values for ${numClasses} classes`, at);
    for (let c = 0; c < numClasses; c++) bias[c]! += scale * values.data[values.data.length === 1 ? 0 : c]!;
  };
  if (node.opType === 'Add') {
    const constant = node.inputs.find((i) => info.constants.has(i));
    addBias(constantValues(info, constant, node), 1, node);
    node = byTensor.get(node.inputs.find((i) => i !== constant) ?? '') ?? fail('the bias Add has no producer', node);
  }
  if (node.inputs[0] !== penultimate) fail(`the linear layer's first input is not the penultimate features "${penultimate}"`, node);
  let dim: number;
  let weightAt: (c: number, d: number) => number;
  let scale = 1;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) fail('a Gemm with transA', node);
    const w = constantValues(info, node.inputs[1], node);
    const transB = attrInt(node, 'transB', 0) !== 0;
    dim = transB ? w.dims[1]! : w.dims[0]!;
    weightAt = transB ? (c, d) => w.data[c * dim + d]! : (c, d) => w.data[d * numClasses + c]!;
    scale = attrFloat(node, 'alpha', 1);
    if (node.inputs[2]) addBias(constantValues(info, node.inputs[2], node), attrFloat(node, 'beta', 1), node);
  } else if (node.opType === 'MatMul') {
    const w = constantValues(info, node.inputs[1], node);
    if (w.dims.length !== 2) fail(`a MatMul weight of rank ${w.dims.length}`, node);
    dim = w.dims[0]!;
    weightAt = (c, d) => w.data[d * numClasses + c]!;
  } else {
    return fail(`the logits come from ${node.opType}`, node);
  }
  const weight = new Float64Array(numClasses * dim);
  for (let c = 0; c < numClasses; c++) for (let d = 0; d < dim; d++) weight[c * dim + d] = scale * weightAt(c, d);
  return { numClasses, dim, weight, bias };
}

/** The final layer of a classifier as exported (calibrate reads it to estimate ViM's statistics). */
export function finalLayerOf(model: Model): FinalLayer {
  const info = inferShapesForCompile(model.graph, defaultOpset(model));
  const cls = findLogits(model.graph, info);
  const features = findFeatures(model.graph, info, cls.logits);
  return finalLinearLayer(model.graph, info, cls.logits, features.penultimate, cls.numClasses);
}
