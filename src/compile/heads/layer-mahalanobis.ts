/**
 * layer_mahalanobis: the feature ensemble of Lee et al. 2018 ("A Simple Unified Framework for
 * Detecting Out-of-Distribution Samples and Adversarial Attacks", §2.2), class-agnostic and
 * with a diagonal covariance. Every classifier head reads the penultimate features or the
 * logits, which the training taught to ignore low-level changes (blur, noise, contrast); the
 * early layers see them. At each layer it reads (the GAIA taps, `layerTaps`), two moments of
 * every channel over its positions make two segments: the mean E[x] (Lee et al.'s statistic,
 * which sees brightness and contrast) and the mean square E[x²] (the diagonal of the layer's
 * Gram matrix, Sastry & Oore 2020, which sees the energy that noise adds and blur removes; a
 * spatial mean alone is blind to blur, since a convolution's mean follows its input's mean).
 * Each segment's distance to the ID training statistics is d_s = mean_c ((m_s,c − μ_s,c) / σ_s,c)²,
 * and the score is mean_s d_s / v_s, with v_s the ID standard deviation of d_s (the segments
 * on one scale; the ID mean of d_s, a constant shift, is left out so that the score keeps its
 * digits). Higher = more out-of-distribution. Each frame's score reads only that frame.
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

/** Each segment's width: every read layer's channel count twice (its means, then its mean squares). */
export function layerChannels(taps: readonly Tap[]): number[] {
  return layerTaps(taps).flatMap((t) => {
    const c = t.shape[t.channelAxis];
    if (typeof c !== 'number') throw new GaiaError(ErrorCodes.SHAPE_INFERENCE, `layer_mahalanobis: tap "${t.tensor}" has a dynamic channel count`);
    return [c, c];
  });
}

/** [batch, 2 Σ channels]: per read layer, E[x] then E[x²] of every channel over its positions, the layers concatenated. */
export function layerMoments(b: GraphBuilder, taps: readonly Tap[]): string {
  const moments = layerTaps(taps).flatMap((t) => {
    const square = b.op1('Mul', [t.tensor, t.tensor]);
    if (t.shape.length === 2) return [t.tensor, square];
    const axes = spatialAxes(t.shape, t.channelAxis);
    return [b.reduce('ReduceMean', t.tensor, axes, false), b.reduce('ReduceMean', square, axes, false)];
  });
  return b.op1('Concat', moments, [attr.int('axis', 1)], 'layer_moments');
}

export function layerMahalanobisHead(b: GraphBuilder, taps: readonly Tap[], stats: LayerStats | undefined): string {
  const s = stats ?? (() => { throw missingStats('layer_mahalanobis', "the tapped layers' channel statistics"); })();
  const channels = layerChannels(taps);
  const total = channels.reduce((a, c) => a + c, 0);
  if (channels.length !== s.channels.length || channels.some((c, i) => c !== s.channels[i]) || s.mean.length !== total || s.invStd.length !== total || s.layerScale.length !== channels.length) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `layer_mahalanobis: the statistics are for segments of [${s.channels.join(',')}] channels, but the model's taps make [${channels.join(',')}]; ` +
        'recalibrate with gaia-sentinel calibrate --stats-data TRAINING_SET --methods layer_mahalanobis,... with the same --taps the scoring uses',
    );
  }
  // One scale per channel folds σ, the segment's 1/C and 1/v_s, and the final 1/S: the score is Σ_c (scale_c (m_c − μ_c))².
  const scale = new Float32Array(total);
  let at = 0;
  channels.forEach((c, l) => {
    const perChannel = s.layerScale[l]! / (c * channels.length);
    for (let k = 0; k < c; k++, at++) scale[at] = s.invStd[at]! * Math.sqrt(perChannel);
  });
  const centred = b.op1('Sub', [layerMoments(b, taps), b.floatTensor('layer_mahalanobis_mean', [total], s.mean)]);
  const z = b.op1('Mul', [centred, b.floatTensor('layer_mahalanobis_scale', [total], scale)]);
  return b.reduce('ReduceSum', b.op1('Mul', [z, z]), [1], false);
}
