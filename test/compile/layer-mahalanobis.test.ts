/**
 * The layer_mahalanobis head (src/compile/heads/layer-mahalanobis.ts) against its PyTorch /
 * numpy reference (tools/reference/layer_reference.py, float64; fixtures of
 * make_layer_fixtures.py) on both exports of the five parity architectures: the layers'
 * channel means, the score, each sample alone as in its batch; calibrate's estimator
 * (src/detect/layer-stats.ts) against the reference's; the statistics through the calibration
 * file; the cap on the layers read; and the refusals.
 */
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { FeatureStats, LayerStats } from '../../src/compile/feature-stats.js';
import { layerTaps, MAX_LAYER_TAPS } from '../../src/compile/heads/layer-mahalanobis.js';
import type { Tap } from '../../src/compile/taps.js';
import { headStatsOf, storeHeadStats, updateHeadStatsDigest } from '../../src/calibration/head-stats-file.js';
import { estimateLayerStats, LAYER_SCALE_FRAMES, LayerStatsAccumulator } from '../../src/detect/layer-stats.js';
import { ErrorCodes } from '../../src/errors.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';
import { referenceStats } from '../helpers/sota-stats.js';
import { maxRelError, relToScale } from '../helpers/parity-errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = ['plain_cnn', 'resnet_basic', 'resnet_bottleneck', 'mobilenetv2', 'densenet'];
const TOLERANCE = 1e-5;

const ref = (dir: string, name: string) => readNpy(join(dir, 'baselines', `${name}.npy`));

function referenceLayerStats(dir: string): LayerStats {
  return {
    channels: Array.from(ref(dir, 'layer_channels').data),
    mean: ref(dir, 'layer_mean').data,
    invStd: ref(dir, 'layer_inv_std').data,
    layerScale: ref(dir, 'layer_scale').data,
  };
}

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const input = readNpy(join(dir, 'input.npy'));
  const stats: FeatureStats = { ...referenceStats(dir), layers: referenceLayerStats(dir) };
  for (const file of ['model.onnx', 'model.folded.onnx']) {
    describe(`${arch} (${file}): layer_mahalanobis`, () => {
      let out: Record<string, { data: Float32Array }>;
      let model: Awaited<ReturnType<typeof loadModel>>;
      beforeAll(async () => {
        model = await loadModel(join(dir, file));
        const compiled = compileScoringGraph(model, { heads: ['layer_mahalanobis', 'layer_means'], headSettings: { featureStats: stats } });
        out = await runModel(compiled.model, input);
      });

      it(`reads the GAIA taps' channel means as the reference (relative to their scale ≤ ${TOLERANCE})`, () => {
        expect(relToScale(out.layer_means!.data, ref(dir, 'layer_means').data)).toBeLessThanOrEqual(TOLERANCE);
      });

      it(`scores as the reference (per-sample relative error ≤ ${TOLERANCE})`, () => {
        expect(maxRelError(out.layer_mahalanobis!.data, ref(dir, 'layer_mahalanobis').data)).toBeLessThanOrEqual(TOLERANCE);
      });

      it('gives every sample the same score alone as in a batch (to 1e-6)', async () => {
        const compiled = compileScoringGraph(model, { heads: ['layer_mahalanobis'], headSettings: { featureStats: stats } });
        const [batch, ...rest] = input.shape as [number, ...number[]];
        const per = input.data.length / batch;
        for (let i = 0; i < batch; i++) {
          const alone = await runModel(compiled.model, { data: input.data.slice(i * per, (i + 1) * per), shape: [1, ...rest] });
          const v = alone.layer_mahalanobis!.data[0]!;
          expect(Math.abs(v - out.layer_mahalanobis!.data[i]!), `sample ${i}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
        }
      });
    });
  }

  it(`${arch}: calibrate's estimator equals the reference's statistics (≤ ${TOLERANCE})`, () => {
    const train = ref(dir, 'layer_train_means');
    const expected = referenceLayerStats(dir);
    const got = estimateLayerStats({ means: train.data, count: train.shape[0]!, channels: expected.channels });
    expect(got.channels).toEqual(expected.channels);
    expect(relToScale(got.mean, expected.mean)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxRelError(got.invStd, expected.invStd)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxRelError(got.layerScale, expected.layerScale)).toBeLessThanOrEqual(TOLERANCE);
  });
}

describe('layer_mahalanobis statistics', () => {
  const dir = join(FIXTURES, 'resnet_basic');
  const layers = referenceLayerStats(dir);

  it('round-trip through the calibration file as base64 float32, inside its digest', () => {
    const stored = JSON.parse(JSON.stringify(storeHeadStats({ ...referenceStats(dir), layers })));
    const fail = (why: string): never => {
      throw new Error(why);
    };
    const back = headStatsOf(stored, referenceStats(dir).dim, fail).layers!;
    expect(back.channels).toEqual(layers.channels);
    expect(Array.from(back.mean)).toEqual(Array.from(layers.mean));
    expect(Array.from(back.invStd)).toEqual(Array.from(layers.invStd));
    expect(Array.from(back.layerScale)).toEqual(Array.from(layers.layerScale));
    const digest = (s: Partial<FeatureStats>) => {
      const h = createHash('sha256');
      updateHeadStatsDigest(h, s);
      return h.digest('hex');
    };
    expect(digest({ layers })).not.toBe(digest({}));
    expect(digest({ layers: { ...layers, layerScale: Float32Array.from(layers.layerScale, (v, i) => (i === 0 ? v * 2 : v)) } })).not.toBe(digest({ layers }));
  });

  it('damaged in the file are refused, naming the field', () => {
    const stored = JSON.parse(JSON.stringify(storeHeadStats({ ...referenceStats(dir), layers })));
    const fail = (why: string): never => {
      throw new Error(why);
    };
    expect(() => headStatsOf({ ...stored, layers: { ...stored.layers, channels: [...stored.layers.channels, 4] } }, 48, fail)).toThrow(/layers does not hold/);
    expect(() => headStatsOf({ ...stored, layers: { ...stored.layers, layerScale: [Number.NaN, ...stored.layers.layerScale.slice(1)] } }, 48, fail)).toThrow(/layers holds a value/);
  });

  it('accumulate batch by batch to the same values, and a large set sets the scales from a strided sample', () => {
    const train = ref(dir, 'layer_train_means');
    const [n, width] = train.shape as [number, number];
    const whole = estimateLayerStats({ means: train.data, count: n, channels: layers.channels });
    const batched = new LayerStatsAccumulator(layers.channels, n);
    for (let i = 0; i < n; i += 7) batched.add(train.data.subarray(i * width, Math.min(n, i + 7) * width), Math.min(7, n - i));
    expect(batched.finish()).toEqual(whole);
    // As if the set were 16 times the scale sample: every frame's means, every 16th frame's distances.
    const strided = new LayerStatsAccumulator(layers.channels, 16 * LAYER_SCALE_FRAMES);
    strided.add(train.data, n);
    const thin = strided.finish();
    expect(thin.mean).toEqual(whole.mean);
    expect(thin.invStd).toEqual(whole.invStd);
    const kept = Array.from({ length: Math.ceil(n / 16) }, (_, i) => train.data.subarray(i * 16 * width, (i * 16 + 1) * width));
    let start = 0;
    const byHand = layers.channels.map((c) => {
      const d = kept.map((row) => row.subarray(start, start + c).reduce((acc, v, j) => acc + ((v - whole.mean[start + j]!) * whole.invStd[start + j]!) ** 2, 0) / c);
      start += c;
      const m = d.reduce((a, v) => a + v, 0) / d.length;
      return 1 / Math.sqrt(d.reduce((a, v) => a + (v - m) ** 2, 0) / d.length);
    });
    expect(maxRelError(thin.layerScale, byHand)).toBeLessThanOrEqual(1e-5);
    expect(thin.layerScale).not.toEqual(whole.layerScale);
  });

  it('are refused by the estimator when they cannot make rows', () => {
    expect(() => estimateLayerStats({ means: new Float32Array(10), count: 2, channels: [3, 3] })).toThrow(expect.objectContaining({ code: ErrorCodes.FEATURE_STATS }));
  });
});

describe('layer_mahalanobis refuses what it cannot use', () => {
  const dir = join(FIXTURES, 'plain_cnn');

  it('no statistics, or statistics without the layers, saying how to recompute them', async () => {
    const model = await loadModel(join(dir, 'model.onnx'));
    expect(() => compileScoringGraph(model, { heads: ['layer_mahalanobis'] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining('--stats-data') }),
    );
    expect(() => compileScoringGraph(model, { heads: ['layer_mahalanobis'], headSettings: { featureStats: referenceStats(dir) } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringMatching(/layer_mahalanobis.*--methods names layer_mahalanobis/) }),
    );
  });

  it('statistics of other layers (another model, or other --taps), naming both', async () => {
    const model = await loadModel(join(dir, 'model.onnx'));
    const other = referenceLayerStats(join(FIXTURES, 'resnet_basic'));
    expect(() => compileScoringGraph(model, { heads: ['layer_mahalanobis'], headSettings: { featureStats: { ...referenceStats(dir), layers: other } } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringMatching(/\[12,12,12,24.*\[16,24,32\].*--taps/) }),
    );
  });
});

describe('the layers read', () => {
  const tap = (i: number): Tap => ({ tensor: `t${i}`, node: `n${i}`, opType: 'Conv', shape: ['N', 8, 4, 4], channelAxis: 1, reason: 'test' });

  it(`are every tap up to ${MAX_LAYER_TAPS}, else ${MAX_LAYER_TAPS} spread evenly from the first to the last`, () => {
    expect(layerTaps(Array.from({ length: 20 }, (_, i) => tap(i))).map((t) => t.tensor)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    const picked = layerTaps(Array.from({ length: 121 }, (_, i) => tap(i))).map((t) => Number(t.tensor.slice(1)));
    expect(picked).toHaveLength(MAX_LAYER_TAPS);
    expect(picked[0]).toBe(0);
    expect(picked.at(-1)).toBe(120);
    const gaps = picked.slice(1).map((v, i) => v - picked[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5);
  });
});
