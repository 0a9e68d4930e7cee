/** The feature statistics of `calibrate --stats-data`: the ID training set scored with the features head. */
import type { FeatureStats } from '../compile/feature-stats.js';
import { finalLayerOf } from '../compile/final-layer.js';
import type { Config } from '../config/load.js';
import { estimateFeatureStats } from '../detect/feature-stats.js';
import { estimateHeadStats, type HeadStatsSettings } from '../detect/head-stats.js';
import { LayerStatsAccumulator } from '../detect/layer-stats.js';
import { layerChannels } from '../compile/heads/layer-mahalanobis.js';
import { compileScoringGraph } from '../compile/compiler.js';
import { loadModel } from '../onnx/model-io.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { openFrameSet } from '../frames/frame-set.js';
import { storeFeatureStats, type StoredFeatureStats } from '../calibration/calibration-file.js';
import { progressReporter } from './progress.js';
import { scoreSet, type OnBadFrame } from './score-set.js';
import { openOfflineSession } from './session.js';

/** Scores the ID training set with the features head (and layer_means) and estimates the statistics of react, mahalanobis, knn, fdbd, vim and layer_mahalanobis. */
export async function featureStatistics(
  config: Readonly<Config>,
  path: string,
  onBadFrame: OnBadFrame,
  stderr: { write(chunk: string): unknown },
  settings: HeadStatsSettings = {},
): Promise<{ stats: FeatureStats; stored: StoredFeatureStats }> {
  // layer_mahalanobis reads the tapped layers' channel means: scored only when it is asked for.
  const withLayers = settings.heads === undefined || settings.heads.includes('layer_mahalanobis');
  const session = await openOfflineSession(config, { heads: withLayers ? ['logits', 'features', 'layer_means'] : ['logits', 'features'] });
  try {
    const set = await openFrameSet(path, { maxBytes: config.frames.maxBytes });
    const model = await loadModel(session.pkg.modelPath);
    // The layers' widths from the taps the scoring reads (a reused compiled graph records their names only);
    // their moments are accumulated batch by batch, too wide to keep for a whole training set.
    const layerAcc = withLayers ? new LayerStatsAccumulator(layerChannels(compileScoringGraph(model, { taps: config.model.taps, heads: ['logits'] }).taps), set.count) : undefined;
    const scores = await scoreSet(set, session.pre, session.scorer, {
      batch: config.runtime.maxBatch,
      onBadFrame,
      progress: progressReporter(`feature statistics ${set.name}`, stderr as NodeJS.WriteStream),
      ...(layerAcc ? { streamed: { heads: ['layer_means'], onBatch: (out, count) => layerAcc.add(out.layer_means!, count) } } : {}),
    });
    if (!scores.labels) {
      throw new GaiaError(
        ErrorCodes.FEATURE_STATS,
        `--stats-data ${path} has no labels; Mahalanobis needs the class of every training frame (a set built by scripts/data, e.g. data/sets/fmnist-train)`,
      );
    }
    const features = scores.heads.features!;
    const dim = features.length / scores.count;
    const common = estimateFeatureStats({ features, count: scores.count, dim, labels: scores.labels, numClasses: session.scorer.numClasses });
    // ViM centres on the final layer's origin: read W and b from the classifier as exported.
    const finalLayer = finalLayerOf(model);
    const layers = layerAcc ? { layers: layerAcc.finish() } : {};
    const stats: FeatureStats = { ...common, ...estimateHeadStats({ features, count: scores.count, dim, finalLayer }, settings), ...layers };
    return { stats, stored: storeFeatureStats(stats, { source: scores.source, frames: scores.count, fingerprint: session.fingerprint }) };
  } finally {
    await session.scorer.close();
  }
}
