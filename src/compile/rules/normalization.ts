import { attr, attrFloat, attrInt, describeNode } from '../../onnx/graph.js';
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

/**
 * LayerNormalization (opset 17): y = x̂·γ + β with x̂ = (x − μ)·σ⁻¹ over the axes from
 * `axis` on. With h = g·γ, dx = σ⁻¹ · (h − mean(h) − x̂ · mean(h · x̂)), means over those
 * axes (torch's layer_norm_backward). x̂ and σ⁻¹ come from a second LayerNormalization
 * with γ = 1 and no β, whose optional third output is σ⁻¹: the same kernel, the same rounding.
 * https://onnx.ai/onnx/operators/onnx__LayerNormalization.html
 */
const layerNorm: VjpRule = (ctx) => {
  const { b, node } = ctx;
  if (ctx.needsGrad[1] || ctx.needsGrad[2]) {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)} has a scale or bias that depends on the input; they must be constants`, { node: node.name });
  }
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const axis = attrInt(node, 'axis', -1);
  const first = axis < 0 ? axis + xs.length : axis;
  const normalised = xs.slice(first).map((d) => (typeof d === 'number' ? d : NaN));
  if (normalised.some(Number.isNaN)) {
    throw new GaiaError(ErrorCodes.UNSUPPORTED_OP, `${describeNode(node)} normalises over a dynamic axis`, { node: node.name });
  }
  const ones = b.floatTensor('ln_ones', normalised, new Float32Array(normalised.reduce((p, q) => p * q, 1)).fill(1));
  const [xhat, , invStd] = b.op('LayerNormalization', [x, ones], [
    attr.int('axis', first),
    attr.float('epsilon', attrFloat(node, 'epsilon', 1e-5)),
  ], 3, 'ln_xhat');
  const axes = xs.slice(first).map((_, i) => first + i);
  const h = b.op1('Mul', [ctx.gradOutputs[0]!, node.inputs[1]!]);
  const meanH = b.reduce('ReduceMean', h, axes, true);
  const meanHX = b.reduce('ReduceMean', b.op1('Mul', [h, xhat!]), axes, true);
  const centred = b.op1('Sub', [b.op1('Sub', [h, meanH]), b.op1('Mul', [xhat!, meanHX])]);
  return [b.op1('Mul', [centred, invStd!], [], 'ln_grad')];
};

export const normalizationRules: Record<string, VjpRule> = { BatchNormalization: batchNorm, LayerNormalization: layerNorm };
