/**
 * layer_mahalanobis' statistics (src/compile/heads/layer-mahalanobis.ts) from the tapped
 * layers' channel moments of ID training frames (the layer_moments output: per layer a
 * segment of E[x] and one of E[x²]): each column's mean and 1 / √(variance + floor) (the
 * biased variance, as sklearn's EmpiricalCovariance; the floor, 1e-6 of the segment's mean
 * variance, keeps a channel that never varies from dividing by zero), then each segment's
 * distance d_s = mean_c z_c² on the same frames and 1 / its standard deviation.
 * Computed in float64; the graph receives float32.
 */
import type { LayerStats } from '../compile/feature-stats.js';
import { ErrorCodes, GaiaError } from '../errors.js';

/** A channel's variance floor, relative to its segment's mean variance. */
export const LAYER_VARIANCE_FLOOR = 1e-6;

export interface LayerSample {
  /** Row-major [count, Σ channels]: the layer_moments output. */
  readonly means: ArrayLike<number>;
  readonly count: number;
  /** The channel count of each segment, in the order of `means`' columns (layerChannels). */
  readonly channels: readonly number[];
}

export function estimateLayerStats(s: LayerSample): LayerStats {
  const { count: n, channels } = s;
  const width = channels.reduce((a, c) => a + c, 0);
  if (s.means.length !== n * width || n < 2) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `layer statistics: ${s.means.length} values do not make ${n} (at least 2) rows of ${width} channel moments`);
  }
  const mean = new Float64Array(width);
  const variance = new Float64Array(width);
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) mean[k]! += s.means[i * width + k]!;
  for (let k = 0; k < width; k++) mean[k]! /= n;
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) variance[k]! += (s.means[i * width + k]! - mean[k]!) ** 2;
  const invStd = new Float64Array(width);
  let start = 0;
  for (const c of channels) {
    let layerVariance = 0;
    for (let k = start; k < start + c; k++) layerVariance += (variance[k]! /= n);
    const floor = Math.max((LAYER_VARIANCE_FLOOR * layerVariance) / c, Number.MIN_VALUE);
    for (let k = start; k < start + c; k++) invStd[k] = 1 / Math.sqrt(variance[k]! + floor);
    start += c;
  }
  return { channels: [...channels], mean: Float32Array.from(mean), invStd: Float32Array.from(invStd), layerScale: layerScales(s, mean, invStd) };
}

/** 1 / the standard deviation of each segment's distance over the frames (1 where it does not vary). */
function layerScales(s: LayerSample, mean: Float64Array, invStd: Float64Array): Float32Array {
  const { count: n, channels } = s;
  const width = mean.length;
  const sum = new Float64Array(channels.length);
  const sumSq = new Float64Array(channels.length);
  for (let i = 0; i < n; i++) {
    let start = 0;
    channels.forEach((c, l) => {
      let d = 0;
      for (let k = start; k < start + c; k++) d += ((s.means[i * width + k]! - mean[k]!) * invStd[k]!) ** 2;
      d /= c;
      sum[l]! += d;
      sumSq[l]! += d * d;
      start += c;
    });
  }
  return Float32Array.from(channels, (_, l) => {
    const m = sum[l]! / n;
    const sd = Math.sqrt(Math.max(sumSq[l]! / n - m * m, 0));
    return sd > 0 ? 1 / sd : 1;
  });
}
