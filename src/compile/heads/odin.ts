/**
 * ODIN (Liang et al. 2018), as the GradNorm authors' code the GAIA paper follows (its H.3):
 * x' = x − ε · sign(∂ CE(y/T, argmax y) / ∂x) / std, then score = max softmax(y(x')/T)
 * (higher = more in-distribution). The gradient with respect to the image comes from the
 * compiler's backward pass and y(x') from a second forward pass inside the same graph.
 * sign is torch.ge(g, 0)·2 − 1 (a zero gradient counts as +1), as the official code.
 */
import { attr, type Graph } from '../../onnx/graph.js';
import { DataType } from '../../onnx/schema.js';
import { Tensor } from '../../onnx/tensor.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import { backward } from '../backward.js';
import type { ClassifierParts } from '../classifier.js';
import { replayForward } from '../replay.js';

export interface OdinSettings {
  /** Temperature T (the paper: 1000). */
  readonly temperature: number;
  /** Perturbation ε in the units of the unnormalised image (the paper: 0.004 on CIFAR, 0 on ImageNet). */
  readonly epsilon: number;
  /**
   * Per-channel std of the model's input normalisation: the official code divides the
   * signed gradient by it, so ε is a step in pixel units. Empty: 1 for every channel.
   */
  readonly inputStd: readonly number[];
}

export const DEFAULT_ODIN: OdinSettings = { temperature: 1000, epsilon: 0.004, inputStd: [] };

export function odinHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, settings: OdinSettings): string {
  const { temperature: t, epsilon } = settings;
  if (!(t > 0) || !(epsilon >= 0)) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `odin needs a temperature > 0 and an epsilon ≥ 0, got T = ${t}, ε = ${epsilon}`);
  }
  const scaledMsp = (logits: string) =>
    b.reduce('ReduceMax', b.op1('Softmax', [b.op1('Div', [logits, b.scalar(t)])], [attr.int('axis', 1)]), [1], false);
  if (epsilon === 0) return scaledMsp(cls.logits);

  const input = graph.inputs.find((i) => !graph.initializers.has(i.name))!.name;
  // ∂ CE(y/T, ŷ)/∂y = (softmax(y/T) − onehot(ŷ)) / T
  const argmax = b.op1('ArgMax', [cls.logits], [attr.int('axis', 1), attr.int('keepdims', 0), attr.int('select_last_index', 0)]);
  const onOff = b.addInitializer('odin_onehot_values', (n) => Tensor.float32(n, [2], [0, 1]));
  const onehot = b.op1('OneHot', [argmax, b.ints([cls.numClasses]), onOff], [attr.int('axis', -1)]);
  const soft = b.op1('Softmax', [b.op1('Div', [cls.logits, b.scalar(t)])], [attr.int('axis', 1)]);
  const seed = b.op1('Div', [b.op1('Sub', [soft, onehot]), b.scalar(t)], [], 'odin_seed');
  const grad = backward(graph, b, [{ tensor: cls.logits, grad: seed }], [input]).get(input);
  if (!grad) throw new GaiaError(ErrorCodes.BAD_HEAD, `odin: the logits do not depend on the input "${input}"`);
  const ge = b.op1('Cast', [b.op1('GreaterOrEqual', [grad, b.scalar(0)])], [attr.int('to', DataType.FLOAT)]);
  const sign = b.op1('Sub', [b.op1('Mul', [ge, b.scalar(2)]), b.scalar(1)], [], 'odin_sign');
  const step = perChannelStep(b, input, epsilon, settings.inputStd);
  const perturbed = b.op1('Sub', [input, b.op1('Mul', [sign, step])], [], 'odin_input');
  return scaledMsp(replayForward(graph, b, new Map([[input, perturbed]]), cls.logits));
}

/** ε / std_c, shaped to broadcast over an NCHW input. */
function perChannelStep(b: GraphBuilder, input: string, epsilon: number, std: readonly number[]): string {
  if (std.length === 0 || std.every((s) => s === std[0])) return b.scalar(epsilon / (std[0] ?? 1));
  const rank = b.shapeOf(input)?.length ?? 4;
  const dims = [1, std.length, ...Array<number>(rank - 2).fill(1)];
  return b.floatTensor('odin_step', dims, Float32Array.from(std, (s) => epsilon / s));
}
