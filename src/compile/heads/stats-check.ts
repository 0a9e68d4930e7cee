/** The shape check every head that reads ID feature statistics makes before baking them in. */
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { FeatureParts } from '../classifier.js';

/** The penultimate width D, after checking that the statistics were made for it. */
export function checkedFeatureWidth(head: string, b: GraphBuilder, features: FeatureParts, statsDim: number): number {
  const shape = b.shapeOf(features.penultimate);
  const dim = shape?.[1];
  if (shape?.length !== 2 || dim !== statsDim) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `${head}: the feature statistics are for ${statsDim} features, but the model has [${shape?.slice(1).join(',') ?? '?'}] penultimate features; ` +
        'recalibrate with gaia-sentinel calibrate --stats-data',
    );
  }
  return dim;
}

/** The error for a calibration made before a head existed: its statistics are missing. */
export function missingStats(head: string, what: string): GaiaError {
  return new GaiaError(
    ErrorCodes.FEATURE_STATS,
    `the ${head} head needs ${what} of ID training features, which these feature statistics do not hold (calibrate keeps it only when --methods ` +
      `names ${head}, and calibrations made before ${head} existed have none); recompute them with gaia-sentinel calibrate --model DIR ` +
      `--data CALIBRATION_SET --stats-data TRAINING_SET --methods ${head},... (or all)`,
  );
}
