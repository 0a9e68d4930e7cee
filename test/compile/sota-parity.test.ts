/**
 * Parity of the post-GAIA heads (KNN, fDBD, ViM, GEN, SCALE) with PyTorch / numpy references
 * of their papers' and official codes' definitions (tools/reference/sota_reference.py, float64,
 * brute-force neighbours, numpy's eigh and pinv), on the committed fixtures of
 * tools/reference/make_baseline_fixtures.py, for both exports of five parity architectures;
 * each sample alone scores as in its batch; and the heads refuse statistics they cannot use.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { FeatureStats } from '../../src/compile/feature-stats.js';
import type { HeadName } from '../../src/compile/heads.js';
import { ErrorCodes } from '../../src/errors.js';
import { decodeModel, encodeObject, loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';
import { referenceStats } from '../helpers/sota-stats.js';
import { maxRelError } from '../helpers/parity-errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = ['plain_cnn', 'resnet_basic', 'resnet_bottleneck', 'mobilenetv2', 'densenet'];
const HEADS: HeadName[] = ['knn', 'fdbd', 'vim', 'gen', 'scale'];
const TOLERANCE = 1e-5;

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const input = readNpy(join(dir, 'input.npy'));
  const stats = referenceStats(dir);
  for (const file of ['model.onnx', 'model.folded.onnx']) {
    describe(`${arch} (${file}): post-GAIA heads`, () => {
      let out: Record<string, { data: Float32Array }>;
      beforeAll(async () => {
        const compiled = compileScoringGraph(await loadModel(join(dir, file)), { heads: HEADS, headSettings: { featureStats: stats } });
        out = await runModel(compiled.model, input);
      });

      for (const head of HEADS) {
        it(`${head} matches its reference (per-sample relative error ≤ ${TOLERANCE})`, () => {
          expect(maxRelError(out[head]!.data, readNpy(join(dir, 'baselines', `${head}.npy`)).data)).toBeLessThanOrEqual(TOLERANCE);
        });
      }

      it('gives every sample the same scores alone as in a batch (to 1e-6)', async () => {
        const compiled = compileScoringGraph(await loadModel(join(dir, file)), { heads: HEADS, headSettings: { featureStats: stats } });
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
    });
  }
}

describe('post-GAIA heads that need feature statistics', () => {
  const dir = join(FIXTURES, 'plain_cnn');
  it('refuse to compile without them, naming --stats-data', async () => {
    const model = await loadModel(join(dir, 'model.onnx'));
    for (const head of ['knn', 'fdbd', 'vim'] as const) {
      expect(() => compileScoringGraph(model, { heads: [head] })).toThrow(
        expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining('--stats-data') }),
      );
    }
  });

  it('refuse statistics without theirs (not asked for, or made before they existed), saying to recompute them', async () => {
    const model = await loadModel(join(dir, 'model.onnx'));
    const { knn: _k, featureMean: _m, vim: _v, ...old } = referenceStats(dir);
    for (const head of ['knn', 'fdbd', 'vim'] as const) {
      expect(() => compileScoringGraph(model, { heads: [head], headSettings: { featureStats: old } })).toThrow(
        expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringMatching(new RegExp(`${head}.*--methods names ${head}.*made before.*--stats-data`)) }),
      );
    }
  });

  it('refuse statistics of another feature width, and a k beyond the bank', async () => {
    const model = await loadModel(join(dir, 'model.onnx'));
    const stats = referenceStats(dir);
    const narrow: FeatureStats = { ...stats, dim: 3 };
    for (const head of ['knn', 'fdbd', 'vim'] as const) {
      expect(() => compileScoringGraph(model, { heads: [head], headSettings: { featureStats: narrow } })).toThrow(expect.objectContaining({ code: ErrorCodes.FEATURE_STATS }));
    }
    const farK: FeatureStats = { ...stats, knn: { ...stats.knn!, k: stats.knn!.rows + 1 } };
    expect(() => compileScoringGraph(model, { heads: ['knn'], headSettings: { featureStats: farK } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining('--knn-k') }),
    );
  });
});

describe('scale on a frame whose features are all zero', () => {
  /** X → Relu → global pool → Gemm: a negative input leaves every penultimate feature at 0. */
  function reluClassifier() {
    const shape = (dims: Array<number | string>) => ({ tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } });
    const graph = {
      name: 'relu_head',
      node: [
        { name: 'relu', opType: 'Relu', input: ['x'], output: ['r'] },
        { name: 'pool', opType: 'GlobalAveragePool', input: ['r'], output: ['p'] },
        { name: 'flat', opType: 'Flatten', input: ['p'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
        { name: 'fc', opType: 'Gemm', input: ['f', 'w', 'b'], output: ['y'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
      ],
      initializer: [
        { name: 'w', dims: [3, 4], dataType: 1, floatData: [0.5, -1, 2, 0.25, 1, 1, -0.5, 0, -2, 0.5, 1, 1.5] },
        { name: 'b', dims: [3], dataType: 1, floatData: [0.1, -0.2, 0.3] },
      ],
      input: [{ name: 'x', type: shape(['N', 4, 2, 2]) }],
      output: [{ name: 'y', type: shape(['N', 3]) }],
    };
    return decodeModel(encodeObject({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test', graph }));
  }

  it('scores the energy of the bias alone (the official code divides 0 by 0), and a live frame as the definition', async () => {
    const compiled = compileScoringGraph(reluClassifier(), { heads: ['logits', 'scale'], taps: 'op:Relu' });
    const dead = new Float32Array(16).fill(-1);
    const live = Float32Array.from({ length: 16 }, (_, i) => (i % 5) * 0.3);
    const out = await runModel(compiled.model, { data: Float32Array.from([...dead, ...live]), shape: [2, 4, 2, 2] });
    const lse = (v: number[]) => Math.log(v.reduce((acc, x) => acc + Math.exp(x), 0));
    expect(out.scale!.data[0]).toBeCloseTo(lse([0.1, -0.2, 0.3]), 6);
    // The live frame by hand: D = 4, p = 85 keeps the top 4 − round(3.4) = 1 activation.
    const f = [0, 1, 2, 3].map((c) => [0, 1, 2, 3].reduce((acc, k) => acc + live[16 * 0 + c * 4 + k]!, 0) / 4);
    const r = f.reduce((a, v) => a + v, 0) / Math.max(...f);
    const w = [[0.5, -1, 2, 0.25], [1, 1, -0.5, 0], [-2, 0.5, 1, 1.5]];
    const logits = w.map((row, k) => row.reduce((acc, wk, c) => acc + wk * f[c]! * Math.exp(r), [0.1, -0.2, 0.3][k]!));
    expect(out.scale!.data[1]).toBeCloseTo(lse(logits), 4);
  });
});
