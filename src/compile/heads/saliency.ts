/**
 * The saliency head: where in the frame the predicted class was seen, as a map at the
 * spatial size of the last feature map, for the evidence page (issue #26).
 *
 * - "cam" (Zhou et al. 2016), for a classifier that ends in global average pooling and a
 *   linear layer: y_k = Σ_c w[k,c]·mean_hw A[c,h,w] + b_k, so the class activation map
 *   Σ_c w[k,c]·A[c,h,w] of the predicted class k is a 1×1 convolution of the pooled
 *   feature map A with row k of the weights. No backward pass.
 * - "layercam" (Jiang et al. 2021), for any other classifier: at the last tap A with the
 *   float gradient G of the predicted class's logit, Σ_c ReLU(G)[c,h,w]·A[c,h,w].
 *
 * Either map is ReLU'd and divided per frame by its maximum (all zeros when that is 0), so
 * every value lies in [0, 1]; the output is float32 [N, ...spatial] ([N, h, w] for images).
 */
import { attr, attrFloat, attrInt, describeNode, type Graph, type Shape } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import { backward } from '../backward.js';
import { locateFeatures, type ClassifierParts, type FeatureParts } from '../classifier.js';
import type { Tap } from '../taps.js';

export const SALIENCY_METHODS = ['auto', 'cam', 'layercam'] as const;
/** "auto" picks "cam" where the graph allows it, else "layercam". */
export type SaliencyMethod = (typeof SALIENCY_METHODS)[number];

export interface SaliencyOutput {
  readonly tensor: string;
  readonly shape: Shape;
  readonly method: 'cam' | 'layercam';
  /** For the compile output: which map was built, from which tensors, and why. */
  readonly note: string;
}

/** The linear layer's weights as [classes, channels] (Gemm's alpha folded in), or why CAM cannot read them. */
interface CamWeights {
  readonly rows: Float32Array;
  readonly channels: number;
}

function camWeights(b: GraphBuilder, cls: ClassifierParts, parts: FeatureParts): CamWeights | string {
  const { linear, pool, penultimate, lastFeatureMap } = parts;
  const fm = b.shapeOf(lastFeatureMap);
  const pooled = b.shapeOf(pool.outputs[0]!);
  const channels = fm?.[1];
  if (!fm || !pooled || typeof channels !== 'number') return `the shape of "${lastFeatureMap}" is not known at compile time`;
  // Global average pooling over every axis but batch and channels leaves [N, C] (or [N, C, 1, 1]).
  const perSample = pooled.slice(1);
  if (pooled[1] !== channels || !perSample.every((d, i) => i === 0 || d === 1)) {
    return `${describeNode(pool)} does not average over every position of "${lastFeatureMap}" (output [${pooled.join(',')}])`;
  }
  const fromA = linear.inputs[0] === penultimate;
  const weightName = fromA ? linear.inputs[1] : undefined;
  const weight = weightName ? b.constant(weightName) : undefined;
  if (!weight || weight.dims.length !== 2) return `the weights of ${describeNode(linear)} are not a constant 2-D matrix`;
  if (linear.opType === 'Gemm' && attrInt(linear, 'transA', 0) !== 0) return `${describeNode(linear)} transposes its features (transA)`;
  // Gemm(transB=1) stores [classes, C]; MatMul and Gemm(transB=0) store [C, classes].
  const classesFirst = linear.opType === 'Gemm' && attrInt(linear, 'transB', 0) === 1;
  const [rowsDim, colsDim] = weight.dims as [number, number];
  const [k, c] = classesFirst ? [rowsDim, colsDim] : [colsDim, rowsDim];
  if (k !== cls.numClasses || c !== channels) {
    return `the weights of ${describeNode(linear)} are [${weight.dims.join(',')}], not ${cls.numClasses} classes × ${channels} channels`;
  }
  const alpha = linear.opType === 'Gemm' ? attrFloat(linear, 'alpha', 1) : 1;
  const w = weight.toFloat32();
  const rows = new Float32Array(k * c);
  for (let i = 0; i < k; i++) for (let j = 0; j < c; j++) rows[i * c + j] = alpha * w[classesFirst ? i * c + j : j * k + i]!;
  return { rows, channels };
}

function predicted(b: GraphBuilder, cls: ClassifierParts): string {
  return b.op1('ArgMax', [cls.logits], [attr.int('axis', 1), attr.int('keepdims', 0), attr.int('select_last_index', 0)], 'saliency_class');
}

/** Σ_c w[k,c]·A[c,...] for the predicted k: the weight row gathered per frame, times A, summed over channels. */
function camMap(b: GraphBuilder, cls: ClassifierParts, fm: string, rank: number, weights: CamWeights): string {
  const table = b.floatTensor('saliency_class_weights', [cls.numClasses, weights.channels], weights.rows);
  const row = b.op1('Gather', [table, predicted(b, cls)], [attr.int('axis', 0)], 'saliency_weight_row');
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  const kernel = b.unsqueeze(row, spatial);
  return b.reduce('ReduceSum', b.op1('Mul', [fm, kernel]), [1], false);
}

/** Σ_c ReLU(∂y_k/∂A)[c,...]·A[c,...] at the tap A, for the predicted k. */
function layerCamMap(graph: Graph, b: GraphBuilder, cls: ClassifierParts, tap: Tap): string {
  const onOff = b.addInitializer('saliency_onehot_values', (n) => Tensor.float32(n, [2], [0, 1]));
  const seed = b.op1('OneHot', [predicted(b, cls), b.ints([cls.numClasses]), onOff], [attr.int('axis', -1)], 'saliency_seed');
  const grad = backward(graph, b, [{ tensor: cls.logits, grad: seed }], [tap.tensor]).get(tap.tensor);
  if (!grad) {
    throw new GaiaError(ErrorCodes.BAD_HEAD, `saliency: the last tap "${tap.tensor}" has no path to the logits; choose other --taps or leave saliency out of --heads`, { node: tap.node });
  }
  const weighted = b.op1('Mul', [b.op1('Relu', [grad]), tap.tensor], [], 'layercam_weighted');
  return b.reduce('ReduceSum', weighted, [tap.channelAxis], false);
}

/** ReLU, then each frame divided by its own maximum (a frame whose maximum is 0 stays 0). */
function normalised(b: GraphBuilder, map: string, rank: number): string {
  const positive = b.op1('Relu', [map]);
  const axes = Array.from({ length: rank - 1 }, (_, i) => i + 1);
  const max = b.reduce('ReduceMax', positive, axes, true);
  const divisor = b.op1('Where', [b.op1('Greater', [max, b.scalar(0)]), max, b.scalar(1)]);
  return b.op1('Div', [positive, divisor], [], 'saliency');
}

export function saliencyHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, taps: readonly Tap[], method: SaliencyMethod = 'auto'): SaliencyOutput {
  let camBlocked = 'forced by the saliency setting "layercam"';
  if (method !== 'layercam') {
    const found = locateFeatures(graph, b.info, cls.logits);
    const parts = 'penultimate' in found ? found : `${found.why}${found.node ? ` (at ${describeNode(found.node)})` : ''}`;
    const weights = typeof parts === 'string' ? parts : camWeights(b, cls, parts);
    if (typeof parts !== 'string' && typeof weights !== 'string') {
      const fmShape = b.shapeOf(parts.lastFeatureMap)!;
      const map = camMap(b, cls, parts.lastFeatureMap, fmShape.length, weights);
      return {
        tensor: normalised(b, map, fmShape.length - 1),
        shape: [cls.batchDim, ...fmShape.slice(2)],
        method: 'cam',
        note: `saliency: class activation map (CAM) of "${parts.lastFeatureMap}" [${fmShape.slice(1).join('×')}] with the predicted class's row of the ${parts.linear.opType} weights (no backward pass)`,
      };
    }
    camBlocked = weights as string;
    if (method === 'cam') {
      throw new GaiaError(ErrorCodes.BAD_HEAD, `saliency: CAM needs a classifier ending in global average pooling and a linear layer: ${camBlocked}; use the saliency method "layercam" or "auto"`);
    }
  }
  const tap = taps.at(-1);
  if (!tap || tap.shape.length < 3) {
    throw new GaiaError(ErrorCodes.BAD_HEAD, `saliency: LayerCAM needs a last tap with positions (a feature map), and ${tap ? `"${tap.tensor}" has shape [${tap.shape.join(',')}]` : 'there are no taps'}; choose other --taps or leave saliency out of --heads`);
  }
  const spatial = tap.shape.filter((_, i) => i > 0 && i !== tap.channelAxis);
  return {
    tensor: normalised(b, layerCamMap(graph, b, cls, tap), spatial.length + 1),
    shape: [cls.batchDim, ...spatial],
    method: 'layercam',
    note: `saliency: LayerCAM at the last tap "${tap.tensor}" [${tap.shape.slice(1).join('×')}] from the float gradient of the predicted class's logit (no CAM: ${camBlocked})`,
  };
}
