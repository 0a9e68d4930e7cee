/**
 * The statistics calibrate --stats-data estimates for the post-GAIA heads equal their
 * official estimators' (tools/reference/sota_reference.py: numpy's pinv and eigh, the
 * official normaliser), the final layer read from both exports is the model's fc, and the
 * KNN bank's subsampling is seeded, without repeats, and bounded.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finalLayerOf } from '../../src/compile/final-layer.js';
import { DEFAULT_KNN_BANK, defaultKnnK, defaultVimDim, estimateHeadStats, MAX_KNN_BANK_VALUES } from '../../src/detect/head-stats.js';
import { ErrorCodes } from '../../src/errors.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { referenceStats } from '../helpers/sota-stats.js';
import { relToScale } from '../helpers/parity-errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = ['plain_cnn', 'resnet_basic', 'resnet_bottleneck', 'mobilenetv2', 'densenet'];

/** B Bᵀ for a row-major [d, r] basis: the projector onto its span, the same for any basis of it. */
function projector(basis: ArrayLike<number>, d: number): Float64Array {
  const r = basis.length / d;
  const p = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < r; k++) p[i * d + j]! += basis[i * r + k]! * basis[j * r + k]!;
  return p;
}

async function sample(arch: string, file = 'model.onnx') {
  const dir = join(FIXTURES, arch);
  const features = readNpy(join(dir, 'baselines', 'stats_features.npy'));
  const [count, dim] = features.shape as [number, number];
  return { dir, s: { features: features.data, count, dim, finalLayer: finalLayerOf(await loadModel(join(dir, file))) } };
}

for (const arch of ARCHS) {
  for (const file of ['model.onnx', 'model.folded.onnx']) {
    it(`${arch} (${file}): the estimated knn, fdbd and vim statistics equal the official estimators'`, async () => {
      const { dir, s } = await sample(arch, file);
      const ref = referenceStats(dir);
      const got = estimateHeadStats(s, { knnBank: s.count, knnK: ref.knn!.k, vimDim: ref.vim!.principalDim });
      expect(got.knn!.rows).toBe(s.count);
      expect(relToScale(got.knn!.bank, ref.knn!.bank)).toBeLessThanOrEqual(1e-6);
      expect(relToScale(got.featureMean, ref.featureMean!)).toBeLessThanOrEqual(1e-6);
      expect(relToScale(got.vim!.origin, ref.vim!.origin)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(got.vim!.alpha - ref.vim!.alpha) / ref.vim!.alpha).toBeLessThanOrEqual(1e-5);
      expect(relToScale(projector(got.vim!.residualBasis, s.dim), projector(ref.vim!.residualBasis, s.dim))).toBeLessThanOrEqual(1e-5);
    });
  }
}

describe('the knn bank', () => {
  it('subsamples without repeats, seeded: the same rows on every run, each a normalised training feature', async () => {
    const { s } = await sample('resnet_basic');
    const a = estimateHeadStats(s, { knnBank: 100 }).knn!;
    const b = estimateHeadStats(s, { knnBank: 100 }).knn!;
    expect(a.rows).toBe(100);
    expect(a.k).toBe(defaultKnnK(100));
    expect(Array.from(a.bank)).toEqual(Array.from(b.bank));
    const full = estimateHeadStats(s, { knnBank: s.count }).knn!;
    const rowsOf = (bank: Float32Array) => Array.from({ length: bank.length / s.dim }, (_, r) => Array.from(bank.subarray(r * s.dim, (r + 1) * s.dim)).join(','));
    const all = new Set(rowsOf(full.bank));
    const picked = rowsOf(a.bank);
    expect(new Set(picked).size).toBe(100);
    for (const row of picked) expect(all.has(row)).toBe(true);
  });

  it('is kept only for the heads asked for: without knn and vim, only fdbd\'s mean', async () => {
    const { s } = await sample('plain_cnn');
    const got = estimateHeadStats(s, { heads: ['energy', 'fdbd', 'mahalanobis'] });
    expect(got.featureMean.length).toBe(s.dim);
    expect(got.knn).toBeUndefined();
    expect(got.vim).toBeUndefined();
    expect(estimateHeadStats(s, { heads: ['vim'] }).vim?.principalDim).toBe(defaultVimDim(s.dim));
  });

  it('defaults: 4096 frames, k = rows / 1000, vim keeps half of narrow features', () => {
    expect(DEFAULT_KNN_BANK).toBe(4096);
    expect([defaultKnnK(4096), defaultKnnK(256), defaultKnnK(50000)]).toEqual([4, 1, 50]);
    expect([defaultVimDim(2048), defaultVimDim(768), defaultVimDim(512), defaultVimDim(48)]).toEqual([1000, 512, 256, 24]);
  });

  it('refuses a bank over the size limit, a k beyond it and a principal subspace without a residual, naming the setting', async () => {
    const { s } = await sample('plain_cnn');
    const fails = (settings: object, flag: string) =>
      expect(() => estimateHeadStats(s, settings)).toThrow(expect.objectContaining({ code: ErrorCodes.FEATURE_STATS, message: expect.stringContaining(flag) }));
    fails({ knnBank: Math.floor(MAX_KNN_BANK_VALUES / s.dim) + 1 }, '--knn-bank');
    fails({ knnBank: 0 }, '--knn-bank');
    fails({ knnBank: 10, knnK: 11 }, '--knn-k');
    fails({ vimDim: s.dim }, '--vim-dim');
  });
});
