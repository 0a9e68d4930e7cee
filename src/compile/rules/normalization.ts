import { attrFloat, attrInt, describeNode } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import { g0, type VjpRule } from './types.js';

/**
 * BatchNormalization in inference mode is a per-channel affine map, so its input gradient
 * is the output gradient times scale / sqrt(var + eps), folded into one constant here.
 * https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
 */
const batchNorm: VjpRule = (ctx) => {
  const { b, node } = ctx;
  if (attrInt(node, 'training_mode', 0) === 1) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${describeNode(node)} runs in training mode; export the model with model.eval()`,
      { node: node.name },
    );
  }
  const scale = b.constant(node.inputs[1]!);
  const variance = b.constant(node.inputs[4]!);
  if (!scale || !variance) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OP,
      `${describeNode(node)} has non-constant scale or variance; gaia-sentinel needs inference-mode statistics stored as initializers`,
      { node: node.name },
    );
  }
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const s = scale.toFloat32();
  const v = variance.toFloat32();
  const k = new Float32Array(s.length);
  // float32 arithmetic, as the kernels compute invstd.
  for (let c = 0; c < s.length; c++) k[c] = Math.fround(s[c]! * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v[c]! + eps)))));
  const rank = ctx.shape(node.inputs[0]!).length;
  const dims = [s.length, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
  return [b.op1('Mul', [g0(ctx), b.floatTensor('bn_grad_scale', dims, k)], [], 'bn_grad')];
};

export const normalizationRules: Record<string, VjpRule> = { BatchNormalization: batchNorm };
