/**
 * Mahalanobis (Lee et al. 2018), final-layer features without input perturbation:
 * raw = min_c (f − μ_c)ᵀ Σ⁻¹ (f − μ_c), with class means μ_c and the shared covariance Σ of
 * ID training features (higher = more out-of-distribution). The official score is
 * −½ of this minimum; the halving changes no threshold or ranking.
 */
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import type { FeatureStats } from '../feature-stats.js';

export function mahalanobisHead(b: GraphBuilder, cls: ClassifierParts, features: FeatureParts, stats: FeatureStats): string {
  const shape = b.shapeOf(features.penultimate);
  const dim = shape?.[1];
  if (shape?.length !== 2 || dim !== stats.dim || cls.numClasses !== stats.numClasses) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `mahalanobis: the feature statistics are for ${stats.numClasses} classes × ${stats.dim} features, but the model has ` +
        `${cls.numClasses} classes × [${shape?.slice(1).join(',') ?? '?'}] penultimate features; recalibrate with gaia-sentinel calibrate --stats-data`,
    );
  }
  const means = b.floatTensor('mahalanobis_means', [stats.numClasses, stats.dim], stats.classMeans);
  const precision = b.floatTensor('mahalanobis_precision', [stats.dim, stats.dim], stats.precision);
  const centred = b.op1('Sub', [b.unsqueeze(features.penultimate, [1]), means]); // [B, C, D]
  const weighted = b.op1('MatMul', [centred, precision]);
  const distances = b.reduce('ReduceSum', b.op1('Mul', [weighted, centred]), [2], false); // [B, C]
  return b.reduce('ReduceMin', distances, [1], false);
}
