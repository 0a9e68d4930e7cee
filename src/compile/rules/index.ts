import { activationRules } from './activations.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { layoutRules } from './layout.js';
import { linearRules } from './linear.js';
import { normalizationRules } from './normalization.js';
import { poolingRules } from './pooling.js';
import { resampleRules } from './resample.js';
import { softmaxRules } from './softmax.js';
import type { VjpRule } from './types.js';

/** Every op the backward pass can differentiate, by ONNX op type. */
export const vjpRules: ReadonlyMap<string, VjpRule> = new Map(
  Object.entries({
    ...activationRules,
    ...convRules,
    ...elementwiseRules,
    ...layoutRules,
    ...linearRules,
    ...normalizationRules,
    ...poolingRules,
    ...resampleRules,
    ...softmaxRules,
  }),
);

/**
 * Ops whose outputs carry no gradient (integer, boolean or index results); gradient flow
 * stops at them without error.
 */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual',
  'Not', 'And', 'Or', 'Xor', 'Sign', 'Floor', 'Ceil', 'Round', 'ConstantOfShape', 'Constant',
]);

export const supportedOps = (): string[] => [...vjpRules.keys()].sort();
