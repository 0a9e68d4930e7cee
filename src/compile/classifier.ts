/**
 * Locates the parts of a classifier the score heads read: the logits, the pooled
 * penultimate features (input of the final linear layer) and the last feature map (input
 * of the global pooling before it).
 */
import { describeNode, producers, type Graph, type Model, type Node } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface ClassifierParts {
  /** The pre-softmax class scores, shape [batch, classes]. */
  readonly logits: string;
  readonly numClasses: number;
  /** The batch dimension's name (or size) as the model declares it. */
  readonly batchDim: string | number;
}

export interface FeatureParts {
  /** The 2-D input of the final linear layer. */
  readonly penultimate: string;
  /** The 4-D input of the global pool feeding it. */
  readonly lastFeatureMap: string;
  /** The pooling node (GlobalAveragePool, ReduceMean or AveragePool) reading lastFeatureMap. */
  readonly pool: Node;
  /** The final linear layer (Gemm or MatMul) reading penultimate. */
  readonly linear: Node;
}

const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Identity', 'Dropout']);

export function findLogits(graph: Graph, info: GraphInfo): ClassifierParts {
  const output = graph.outputs[0];
  if (!output) throw new GaiaError(ErrorCodes.NOT_A_CLASSIFIER, 'the model has no outputs');
  let logits = output.name;
  const byTensor = producers(graph);
  const last = byTensor.get(logits);
  // A model that ends in (Log)Softmax: the scores GAIA differentiates are its input.
  if (last && (last.opType === 'Softmax' || last.opType === 'LogSoftmax')) logits = last.inputs[0]!;
  const shape = info.tensors.get(logits)?.shape;
  if (!shape || shape.length !== 2 || typeof shape[1] !== 'number') {
    throw new GaiaError(
      ErrorCodes.NOT_A_CLASSIFIER,
      `the model's first output "${output.name}" has shape [${shape?.join(',') ?? '?'}]; ` +
        'gaia-sentinel needs a classifier whose first output is 2-D [batch, classes] logits',
    );
  }
  return { logits, numClasses: shape[1], batchDim: shape[0]! };
}

function isConstant(info: GraphInfo, name: string): boolean {
  return info.constants.has(name);
}

/** Why a classifier has no "global pool → flatten → linear" head, and the node where the walk stopped. */
export interface NoFeatures {
  readonly why: string;
  readonly node?: Node;
}

/** Walks back from the logits through bias-add, linear layer, flatten and global pool. */
export function locateFeatures(graph: Graph, info: GraphInfo, logits: string): FeatureParts | NoFeatures {
  const byTensor = producers(graph);
  let node = byTensor.get(logits);
  if (!node) return { why: 'the logits are a graph input' };
  if (node.opType === 'Add') {
    const act = node.inputs.find((i) => !isConstant(info, i));
    const bias = node;
    node = byTensor.get(act ?? '');
    if (!node) return { why: 'the bias Add has no producer', node: bias };
  }
  if (node.opType !== 'Gemm' && node.opType !== 'MatMul') return { why: 'the logits do not come from Gemm or MatMul', node };
  const linear = node;
  const penultimate = node.inputs.find((i) => !isConstant(info, i));
  if (!penultimate) return { why: 'the linear layer has no activation input', node };
  let t = penultimate;
  for (;;) {
    const p = byTensor.get(t);
    if (!p) return { why: `no pooling layer before "${penultimate}"` };
    if (RESHAPES.has(p.opType)) {
      t = p.inputs[0]!;
      continue;
    }
    if (p.opType === 'GlobalAveragePool' || p.opType === 'ReduceMean' || p.opType === 'AveragePool') {
      const fm = p.inputs[0]!;
      if ((info.tensors.get(fm)?.shape.length ?? 0) < 3) return { why: 'the pooled tensor has no spatial axes', node: p };
      return { penultimate, lastFeatureMap: fm, pool: p, linear };
    }
    return { why: `expected a global pool before the linear layer, found ${p.opType}`, node: p };
  }
}

/** locateFeatures, or an error for the heads that cannot do without the features. */
export function findFeatures(graph: Graph, info: GraphInfo, logits: string): FeatureParts {
  const found = locateFeatures(graph, info, logits);
  if ('penultimate' in found) return found;
  const { why, node } = found;
  throw new GaiaError(
    ErrorCodes.BAD_HEAD,
    `the heads that read the classifier's features (gaia_a and its variants, react, gradnorm, rankfeat, mahalanobis, knn, fdbd, vim, scale, features) ` +
      `need a "global pool → flatten → linear" classifier head: ${why}${node ? ` (at ${describeNode(node)})` : ''}; leave them out of --heads for this model`,
    node ? { node: node.name } : {},
  );
}

/** Outputs only a scoring graph has: a classifier export never names its outputs so. */
const SCORING_OUTPUTS = ['gaia_z', 'gaia_z_ratios', 'gaia_a'];

/** Throws naming the model file when it is already a scoring graph. */
export function refuseScoringGraph(model: Model, file: string): void {
  const outputs = model.graph.outputs.map((o) => o.name);
  const heads = outputs.filter((o) => SCORING_OUTPUTS.includes(o));
  if (heads.length > 0) {
    throw new GaiaError(
      ErrorCodes.NOT_A_CLASSIFIER,
      `${file} is already a gaia-sentinel scoring graph (outputs ${outputs.join(', ')}), not a classifier: give the classifier as exported (torch.onnx.export), which the scoring graph is compiled from`,
    );
  }
}
