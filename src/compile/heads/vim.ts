/**
 * ViM (Wang et al. 2022, "ViM: Out-Of-Distribution with Virtual-logit Matching"): the
 * features' residual off the principal subspace of ID training features, taken about the
 * origin u = −pinv(W) b of the final layer, ‖(f − u) NS‖ with NS a basis of the residual
 * space, scaled by α (mean max logit / mean residual norm on ID training features) into a
 * virtual logit; the score is the energy against it, logsumexp(y) − α ‖(f − u) NS‖, the
 * official code's (the paper's −log softmax of the virtual logit, up to a monotone map).
 * Higher = more in-distribution.
 */
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import type { FeatureStats } from '../feature-stats.js';
import { checkedFeatureWidth, missingStats } from './stats-check.js';

export function vimHead(b: GraphBuilder, cls: ClassifierParts, features: FeatureParts, stats: FeatureStats): string {
  const vim = stats.vim ?? (() => { throw missingStats('vim', 'the principal subspace'); })();
  const dim = checkedFeatureWidth('vim', b, features, stats.dim);
  const residualDim = dim - vim.principalDim;
  if (residualDim < 1 || vim.residualBasis.length !== dim * residualDim || vim.origin.length !== dim) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `vim: a principal subspace of ${vim.principalDim} of ${dim} dimensions with a ${vim.residualBasis.length}-value residual basis is not usable; recalibrate with a --vim-dim below ${dim}`,
    );
  }
  const centred = b.op1('Sub', [features.penultimate, b.floatTensor('vim_origin', [dim], vim.origin)]);
  const residual = b.op1('MatMul', [centred, b.floatTensor('vim_residual_basis', [dim, residualDim], vim.residualBasis)]);
  const virtualLogit = b.op1('Mul', [b.reduce('ReduceL2', residual, [1], false), b.scalar(vim.alpha)]);
  const energy = b.reduce('ReduceLogSumExp', cls.logits, [1], false);
  return b.op1('Sub', [energy, virtualLogit], [], 'vim');
}
