/**
 * Parity of the paper's baselines (ODIN, ReAct, GradNorm, RankFeat, Mahalanobis) and GAIA-A's
 * Table 3 variants with PyTorch references of their paper / official-code definitions
 * (tools/reference/baselines_reference.py, autograd and exact SVD, no closed forms), on the
 * committed fixtures of tools/reference/make_baseline_fixtures.py, for both exports of five
 * parity architectures. Also: the feature statistics calibrate estimates equal the official
 * estimator's, and every head refuses to run without statistics it needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { FeatureStats } from '../../src/compile/feature-stats.js';
import type { HeadName } from '../../src/compile/heads.js';
import { estimateFeatureStats } from '../../src/detect/feature-stats.js';
import { ErrorCodes } from '../../src/errors.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';
import { maxRelError, relToScale } from '../helpers/parity-errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = ['plain_cnn', 'resnet_basic', 'resnet_bottleneck', 'mobilenetv2', 'densenet'];

/** Tolerance per head: float32 ulps, except where the definition amplifies rounding (below). */
const TOLERANCE: Partial<Record<HeadName, number>> = {
  gradnorm: 1e-5,
  odin: 1e-5,
  react: 1e-5,
  // power iteration (20 steps, graph) against an exact SVD (reference); measured ≤ 2.2e-7
  rankfeat: 1e-5,
  // the precision matrix amplifies float32 rounding of the features; measured ≤ 2.4e-6
  mahalanobis: 1e-4,
  gaia_a: 1e-4,
  gaia_a_q1: 1e-4,
  gaia_a_q2: 1e-4,
  gaia_a_inner: 1e-4,
  gaia_a_output: 1e-4,
  gaia_a_direct: 1e-4,
  gaia_a_top1: 1e-4,
};
const HEADS = Object.keys(TOLERANCE) as HeadName[];

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const ref = (name: string) => readNpy(join(dir, 'baselines', `${name}.npy`));
  const settings = JSON.parse(readFileSync(join(dir, 'baselines', 'settings.json'), 'utf8')) as { odin: { std: number[] } };
  const input = readNpy(join(dir, 'input.npy'));
  const [numClasses, dim] = ref('class_means').shape as [number, number];
  const referenceStats: FeatureStats = {
    reactThreshold: ref('react_threshold').data[0]!,
    numClasses,
    dim,
    classMeans: ref('class_means').data,
    precision: ref('precision').data,
  };

  it(`${arch}: calibrate's feature statistics equal the official estimator's`, () => {
    const features = ref('stats_features');
    const stats = estimateFeatureStats({
      features: features.data,
      count: features.shape[0]!,
      dim,
      labels: ref('stats_labels').data,
      numClasses,
    });
    expect(Math.abs(stats.reactThreshold - referenceStats.reactThreshold)).toBeLessThanOrEqual(1e-6 * referenceStats.reactThreshold);
    expect(relToScale(stats.classMeans, referenceStats.classMeans)).toBeLessThanOrEqual(1e-6);
    expect(relToScale(stats.precision, referenceStats.precision)).toBeLessThanOrEqual(1e-5);
  });

  for (const file of ['model.onnx', 'model.folded.onnx']) {
    describe(`${arch} (${file})`, () => {
      let out: Record<string, { data: Float32Array }>;
      beforeAll(async () => {
        const model = await loadModel(join(dir, file));
        const compiled = compileScoringGraph(model, {
          heads: ['logits', 'features', ...HEADS],
          headSettings: { featureStats: referenceStats },
        });
        out = await runModel(compiled.model, input);
      });

      it('outputs the penultimate features the reference hooks see', () => {
        expect(relToScale(out.features!.data, ref('features').data)).toBeLessThanOrEqual(1e-5);
      });

      for (const head of HEADS) {
        it(`${head} matches its PyTorch reference (per-sample relative error ≤ ${TOLERANCE[head]})`, () => {
          expect(maxRelError(out[head]!.data, ref(head).data)).toBeLessThanOrEqual(TOLERANCE[head]!);
        });
      }

      it('gives every sample the same scores alone as in a batch (to 1e-6)', async () => {
        const model = await loadModel(join(dir, file));
        const compiled = compileScoringGraph(model, { heads: HEADS, headSettings: { featureStats: referenceStats } });
        const [batch, ...rest] = input.shape as [number, ...number[]];
        const per = input.data.length / batch;
        for (let i = 0; i < batch; i++) {
          const alone = await runModel(compiled.model, { data: input.data.slice(i * per, (i + 1) * per), shape: [1, ...rest] });
          for (const head of HEADS) {
            const v = alone[head]!.data[0]!;
            expect(Math.abs(v - out[head]!.data[i]!), `${head}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
          }
        }
      });

      it('odin with ε = 0 (the paper’s ImageNet setting) and with a per-channel input std', async () => {
        const model = await loadModel(join(dir, file));
        const eps0 = compileScoringGraph(model, { heads: ['odin'], headSettings: { odin: { temperature: 1000, epsilon: 0, inputStd: [] } } });
        expect(maxRelError((await runModel(eps0.model, input)).odin!.data, ref('odin_eps0').data)).toBeLessThanOrEqual(1e-5);
        if (existsSync(join(dir, 'baselines', 'odin_std.npy'))) {
          const std = compileScoringGraph(model, { heads: ['odin'], headSettings: { odin: { temperature: 1000, epsilon: 0.004, inputStd: settings.odin.std } } });
          expect(maxRelError((await runModel(std.model, input)).odin!.data, ref('odin_std').data)).toBeLessThanOrEqual(1e-5);
        }
      });
    });
  }
}

describe('heads that need feature statistics', () => {
  it('refuse to compile without them, saying how to make them', async () => {
    const model = await loadModel(join(FIXTURES, 'plain_cnn', 'model.onnx'));
    for (const head of ['react', 'mahalanobis'] as const) {
      expect(() => compileScoringGraph(model, { heads: [head] })).toThrow(
        expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining('--stats-data') }),
      );
    }
  });

  it('refuse statistics made for another feature width', async () => {
    const model = await loadModel(join(FIXTURES, 'plain_cnn', 'model.onnx'));
    const wrong: FeatureStats = { reactThreshold: 1, numClasses: 10, dim: 3, classMeans: new Float32Array(30), precision: new Float32Array(9) };
    expect(() => compileScoringGraph(model, { heads: ['mahalanobis'], headSettings: { featureStats: wrong } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS }),
    );
  });
});
