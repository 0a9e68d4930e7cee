/**
 * layer_mahalanobis' statistics (src/compile/heads/layer-mahalanobis.ts) from the tapped
 * layers' channel means of ID training frames (the layer_means output): each channel's mean
 * and 1 / √(variance + floor) (the biased variance, as sklearn's EmpiricalCovariance; the
 * floor, 1e-6 of the layer's mean variance, keeps a channel that never varies from dividing
 * by zero), then each layer's distance d_l = mean_c z_c² and 1 / its standard deviation.
 *
 * The means are too many to hold for a whole training set (60,000 frames × 1,200 channels
 * for the reference model, and far more for wider models), so they are accumulated batch by batch: the means and variances
 * over every frame (sums shifted by the first frame, in float64), the layer scales over a
 * strided sample of at most LAYER_SCALE_FRAMES frames kept as float32 (every frame when the
 * set is no larger). The graph receives float32.
 */
import type { LayerStats } from '../compile/feature-stats.js';
import { ErrorCodes, GaiaError } from '../errors.js';

/** A channel's variance floor, relative to its layer's mean variance. */
export const LAYER_VARIANCE_FLOOR = 1e-6;
/** The most frames whose distances set the layer scales. */
export const LAYER_SCALE_FRAMES = 4096;

export interface LayerSample {
  /** Row-major [count, Σ channels]: the layer_means output. */
  readonly means: ArrayLike<number>;
  readonly count: number;
  /** The channel count of each layer, in the order of `means`' columns (layerChannels). */
  readonly channels: readonly number[];
}

/** The statistics of a sample held whole (tests, small sets). */
export function estimateLayerStats(s: LayerSample): LayerStats {
  const width = s.channels.reduce((a, c) => a + c, 0);
  if (s.means.length !== s.count * width) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `layer statistics: ${s.means.length} values do not make ${s.count} rows of ${width} channel means`);
  }
  const acc = new LayerStatsAccumulator(s.channels, s.count);
  acc.add(s.means, s.count);
  return acc.finish();
}

export class LayerStatsAccumulator {
  readonly #channels: readonly number[];
  readonly #width: number;
  /** Keep every #stride-th frame for the layer scales. */
  readonly #stride: number;
  #shift: Float64Array | undefined;
  readonly #sum: Float64Array;
  readonly #sumSq: Float64Array;
  readonly #kept: Float32Array[] = [];
  #count = 0;

  /** `expected`: the frames the set holds (rejected frames only thin the scale sample). */
  constructor(channels: readonly number[], expected: number) {
    this.#channels = [...channels];
    this.#width = channels.reduce((a, c) => a + c, 0);
    this.#stride = Math.max(1, Math.ceil(expected / LAYER_SCALE_FRAMES));
    this.#sum = new Float64Array(this.#width);
    this.#sumSq = new Float64Array(this.#width);
  }

  /** A batch of rows, row-major [count, Σ channels]. */
  add(rows: ArrayLike<number>, count: number): void {
    const w = this.#width;
    if (rows.length !== count * w) {
      throw new GaiaError(ErrorCodes.FEATURE_STATS, `layer statistics: ${rows.length} values do not make ${count} rows of ${w} channel means; were the statistics made with other --taps?`);
    }
    const shift = (this.#shift ??= Float64Array.from({ length: w }, (_, k) => rows[k]!));
    for (let i = 0; i < count; i++, this.#count++) {
      for (let k = 0; k < w; k++) {
        const v = rows[i * w + k]! - shift[k]!;
        this.#sum[k]! += v;
        this.#sumSq[k]! += v * v;
      }
      if (this.#count % this.#stride === 0) this.#kept.push(Float32Array.from({ length: w }, (_, k) => rows[i * w + k]!));
    }
  }

  finish(): LayerStats {
    const n = this.#count;
    if (n < 2) throw new GaiaError(ErrorCodes.FEATURE_STATS, `layer statistics: ${n} frame(s) give no variance; use a --stats-data set of at least 2 frames`);
    const mean = new Float64Array(this.#width);
    const invStd = new Float64Array(this.#width);
    let start = 0;
    for (const c of this.#channels) {
      const variance = new Float64Array(c);
      let layerVariance = 0;
      for (let j = 0; j < c; j++) {
        const k = start + j;
        const shifted = this.#sum[k]! / n;
        mean[k] = this.#shift![k]! + shifted;
        layerVariance += variance[j] = Math.max(this.#sumSq[k]! / n - shifted * shifted, 0);
      }
      const floor = Math.max((LAYER_VARIANCE_FLOOR * layerVariance) / c, Number.MIN_VALUE);
      for (let j = 0; j < c; j++) invStd[start + j] = 1 / Math.sqrt(variance[j]! + floor);
      start += c;
    }
    return { channels: [...this.#channels], mean: Float32Array.from(mean), invStd: Float32Array.from(invStd), layerScale: this.#layerScales(mean, invStd) };
  }

  /** 1 / the standard deviation of each layer's distance over the kept frames (1 where it does not vary). */
  #layerScales(mean: Float64Array, invStd: Float64Array): Float32Array {
    const layers = this.#channels.length;
    const sum = new Float64Array(layers);
    const sumSq = new Float64Array(layers);
    for (const row of this.#kept) {
      let start = 0;
      this.#channels.forEach((c, s) => {
        let d = 0;
        for (let k = start; k < start + c; k++) d += ((row[k]! - mean[k]!) * invStd[k]!) ** 2;
        d /= c;
        sum[s]! += d;
        sumSq[s]! += d * d;
        start += c;
      });
    }
    const n = this.#kept.length;
    return Float32Array.from(this.#channels, (_, s) => {
      const m = sum[s]! / n;
      const sd = Math.sqrt(Math.max(sumSq[s]! / n - m * m, 0));
      return sd > 0 ? 1 / sd : 1;
    });
  }
}
