/** The feature statistics of `calibrate --stats-data`: the ID training set scored with the features head. */
import type { FeatureStats } from '../compile/feature-stats.js';
import type { Config } from '../config/load.js';
import { estimateFeatureStats } from '../detect/feature-stats.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { openFrameSet } from '../frames/frame-set.js';
import { storeFeatureStats, type StoredFeatureStats } from '../calibration/calibration-file.js';
import { progressReporter } from './progress.js';
import { scoreSet, type OnBadFrame } from './score-set.js';
import { openOfflineSession } from './session.js';

/** Scores the ID training set with the features head and estimates react's and mahalanobis' statistics. */
export async function featureStatistics(
  config: Readonly<Config>,
  path: string,
  onBadFrame: OnBadFrame,
  stderr: { write(chunk: string): unknown },
): Promise<{ stats: FeatureStats; stored: StoredFeatureStats }> {
  const session = await openOfflineSession(config, { heads: ['logits', 'features'] });
  try {
    const set = await openFrameSet(path, { maxBytes: config.frames.maxBytes });
    const scores = await scoreSet(set, session.pre, session.scorer, {
      batch: config.runtime.maxBatch,
      onBadFrame,
      progress: progressReporter(`feature statistics ${set.name}`, stderr as NodeJS.WriteStream),
    });
    if (!scores.labels) {
      throw new GaiaError(
        ErrorCodes.FEATURE_STATS,
        `--stats-data ${path} has no labels; Mahalanobis needs the class of every training frame (a set built by scripts/data, e.g. data/sets/fmnist-train)`,
      );
    }
    const features = scores.heads.features!;
    const stats = estimateFeatureStats({
      features,
      count: scores.count,
      dim: features.length / scores.count,
      labels: scores.labels,
      numClasses: session.scorer.numClasses,
    });
    return { stats, stored: storeFeatureStats(stats, { source: scores.source, frames: scores.count, fingerprint: session.fingerprint }) };
  } finally {
    await session.scorer.close();
  }
}
