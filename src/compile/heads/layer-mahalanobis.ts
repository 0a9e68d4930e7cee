/**
 * layer_mahalanobis: the feature ensemble of Lee et al. 2018 ("A Simple Unified Framework for
 * Detecting Out-of-Distribution Samples and Adversarial Attacks", §2.2), class-agnostic and
 * with a diagonal covariance. Every classifier head reads the penultimate features or the
 * logits, which the training taught to ignore low-level changes (blur, noise, contrast); the
 * early layers see them. At each layer it reads (the GAIA taps, `layerTaps`), the activation
 * is averaged over its positions into one value per channel, m_l; its distance to the ID
 * training statistics is d_l = mean_c ((m_l,c − μ_l,c) / σ_l,c)², and the score is
 * mean_l d_l / s_l, with s_l the ID standard deviation of d_l (the layers on one scale; the
 * ID mean of d_l, a constant shift, is left out so that the score keeps its digits).
 * Higher = more out-of-distribution. Each frame's score reads only that frame.
 */
import { attr } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { LayerStats } from '../feature-stats.js';
import type { Tap } from '../taps.js';
import { spatialAxes } from './common.js';
import { missingStats } from './stats-check.js';

/** The most layers the head reads: a DenseNet's hundred taps become 32 spread over its depth. */
export const MAX_LAYER_TAPS = 32;

/** The taps the head reads: all of them up to MAX_LAYER_TAPS, else MAX_LAYER_TAPS evenly spaced from the first to the last. */
export function layerTaps(taps: readonly Tap[]): Tap[] {
  if (taps.length <= MAX_LAYER_TAPS) return [...taps];
  return Array.from({ length: MAX_LAYER_TAPS }, (_, i) => taps[Math.round((i * (taps.length - 1)) / (MAX_LAYER_TAPS - 1))]!);
}

/** Each read layer's channel count; a dynamic channel count cannot carry statistics. */
export function layerChannels(taps: readonly Tap[]): number[] {
  return layerTaps(taps).map((t) => {
    const c = t.shape[t.channelAxis];
    if (typeof c !== 'number') throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `layer_mahalanobis: tap "${t.tensor}" has a dynamic channel count`);
    return c;
  });
}

/** [batch, Σ channels]: each read layer's activation averaged over its positions, the layers concatenated. */
export function layerMeans(b: GraphBuilder, taps: readonly Tap[]): string {
  const pooled = layerTaps(taps).map((t) => (t.shape.length === 2 ? t.tensor : b.reduce('ReduceMean', t.tensor, spatialAxes(t.shape, t.channelAxis), false)));
  return pooled.length === 1 ? pooled[0]! : b.op1('Concat', pooled, [attr.int('axis', 1)], 'layer_means');
}

export function layerMahalanobisHead(b: GraphBuilder, taps: readonly Tap[], stats: LayerStats | undefined): string {
  const s = stats ?? (() => { throw missingStats('layer_mahalanobis', "the tapped layers' channel statistics"); })();
  const channels = layerChannels(taps);
  const total = channels.reduce((a, c) => a + c, 0);
  if (channels.length !== s.channels.length || channels.some((c, i) => c !== s.channels[i]) || s.mean.length !== total || s.invStd.length !== total || s.layerScale.length !== channels.length) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `layer_mahalanobis: the statistics are for layers of [${s.channels.join(',')}] channels, but the model's taps read [${channels.join(',')}]; ` +
        'recalibrate with gaia-sentinel calibrate --stats-data TRAINING_SET --methods layer_mahalanobis,... with the same --taps the scoring uses',
    );
  }
  // One scale per channel folds σ, the layer's 1/C and 1/s_l, and the final 1/L: the score is Σ_c (scale_c (m_c − μ_c))².
  const scale = new Float32Array(total);
  let at = 0;
  channels.forEach((c, l) => {
    const perChannel = s.layerScale[l]! / (c * channels.length);
    for (let k = 0; k < c; k++, at++) scale[at] = s.invStd[at]! * Math.sqrt(perChannel);
  });
  const centred = b.op1('Sub', [layerMeans(b, taps), b.floatTensor('layer_mahalanobis_mean', [total], s.mean)]);
  const z = b.op1('Mul', [centred, b.floatTensor('layer_mahalanobis_scale', [total], scale)]);
  return b.reduce('ReduceSum', b.op1('Mul', [z, z]), [1], false);
}
