/**
 * The post-GAIA heads' statistics in the calibration file (knn's bank, fdbd's mean, vim's
 * subspace, layer_mahalanobis' channel statistics). The two large matrices, the bank and the residual basis, are stored as base64 of
 * little-endian float32 (5.3 characters a value, a third of a JSON number list); the small
 * vectors as numbers, like the older statistics. Calibrations made before these heads existed
 * have none of it and still load; the heads then refuse to compile, saying to recalibrate.
 */
import type { Hash } from 'node:crypto';
import type { FeatureStats } from '../compile/feature-stats.js';

export interface StoredHeadStats {
  /** KNN: the neighbour k and the bank of `rows` normalised features, base64 float32 [rows, dim]. */
  readonly knn?: { readonly k: number; readonly rows: number; readonly bank: string };
  /** fDBD: the mean ID training feature. */
  readonly featureMean?: readonly number[];
  /** ViM: u, α and the residual basis, base64 float32 [dim, dim − principalDim]. */
  readonly vim?: { readonly principalDim: number; readonly alpha: number; readonly origin: readonly number[]; readonly residualBasis: string };
  /** layer_mahalanobis: each layer's channel count and scale, the channels' mean and 1/σ as base64 float32 [Σ channels]. */
  readonly layers?: { readonly channels: readonly number[]; readonly layerScale: readonly number[]; readonly mean: string; readonly invStd: string };
}

const toBase64 = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');

function fromBase64(text: unknown): Float32Array | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

export function storeHeadStats(stats: FeatureStats): StoredHeadStats {
  return {
    ...(stats.knn ? { knn: { k: stats.knn.k, rows: stats.knn.rows, bank: toBase64(stats.knn.bank) } } : {}),
    ...(stats.featureMean ? { featureMean: Array.from(stats.featureMean) } : {}),
    ...(stats.vim
      ? { vim: { principalDim: stats.vim.principalDim, alpha: stats.vim.alpha, origin: Array.from(stats.vim.origin), residualBasis: toBase64(stats.vim.residualBasis) } }
      : {}),
    ...(stats.layers
      ? { layers: { channels: [...stats.layers.channels], layerScale: Array.from(stats.layers.layerScale), mean: toBase64(stats.layers.mean), invStd: toBase64(stats.layers.invStd) } }
      : {}),
  };
}

/** The digest's share of these statistics: nothing when there are none, so older files keep their digest. */
export function updateHeadStatsDigest(h: Hash, s: Pick<FeatureStats, 'knn' | 'featureMean' | 'vim' | 'layers'>): void {
  if (s.knn) h.update(JSON.stringify(['knn', s.knn.k, s.knn.rows])).update(new Uint8Array(Float32Array.from(s.knn.bank).buffer));
  if (s.featureMean) h.update('featureMean').update(new Uint8Array(Float32Array.from(s.featureMean).buffer));
  if (s.vim) {
    h.update(JSON.stringify(['vim', s.vim.principalDim, s.vim.alpha]));
    h.update(new Uint8Array(Float32Array.from(s.vim.origin).buffer)).update(new Uint8Array(Float32Array.from(s.vim.residualBasis).buffer));
  }
  if (s.layers) {
    h.update(JSON.stringify(['layers', s.layers.channels]));
    for (const v of [s.layers.layerScale, s.layers.mean, s.layers.invStd]) h.update(new Uint8Array(Float32Array.from(v).buffer));
  }
}

/** Decodes and checks them against the feature width; `fail` throws with the calibration's path. */
export function headStatsOf(s: StoredHeadStats, dim: number, fail: (why: string) => never): Pick<FeatureStats, 'knn' | 'featureMean' | 'vim' | 'layers'> {
  const finite = (values: ArrayLike<number>) => Array.from(values).every(Number.isFinite);
  const out: { knn?: FeatureStats['knn']; featureMean?: Float32Array; vim?: FeatureStats['vim']; layers?: FeatureStats['layers'] } = {};
  if (s.knn) {
    const bank = fromBase64(s.knn.bank);
    if (!bank || !Number.isInteger(s.knn.rows) || bank.length !== s.knn.rows * dim || !Number.isInteger(s.knn.k) || s.knn.k < 1 || s.knn.k > s.knn.rows) {
      fail(`knn does not hold a base64 float32 bank of ${s.knn.rows} × ${dim} features with a k between 1 and its rows`);
    }
    if (!finite(bank!)) fail('knn holds a value that is not a finite number');
    out.knn = { k: s.knn.k, rows: s.knn.rows, bank: bank! };
  }
  if (s.featureMean) {
    if (!Array.isArray(s.featureMean) || s.featureMean.length !== dim || !finite(s.featureMean)) fail(`featureMean is not ${dim} finite numbers`);
    out.featureMean = Float32Array.from(s.featureMean);
  }
  if (s.vim) {
    const basis = fromBase64(s.vim.residualBasis);
    const residual = dim - s.vim.principalDim;
    if (!basis || !Array.isArray(s.vim.origin) || s.vim.origin.length !== dim || residual < 1 || basis.length !== dim * residual) {
      fail(`vim does not hold a ${dim}-value origin and a base64 float32 ${dim} × ${residual} residual basis`);
    }
    if (!finite(basis!) || !finite(s.vim.origin) || !Number.isFinite(s.vim.alpha)) fail('vim holds a value that is not a finite number');
    out.vim = { principalDim: s.vim.principalDim, alpha: s.vim.alpha, origin: Float32Array.from(s.vim.origin), residualBasis: basis! };
  }
  if (s.layers) out.layers = layerStatsOf(s.layers, fail);
  return out;
}

function layerStatsOf(s: NonNullable<StoredHeadStats['layers']>, fail: (why: string) => never): NonNullable<FeatureStats['layers']> {
  const channels = Array.isArray(s.channels) ? s.channels : [];
  const width = channels.reduce((a, c) => a + c, 0);
  const mean = fromBase64(s.mean);
  const invStd = fromBase64(s.invStd);
  if (channels.length === 0 || !channels.every((c) => Number.isInteger(c) && c > 0) || !Array.isArray(s.layerScale) || s.layerScale.length !== channels.length || mean?.length !== width || invStd?.length !== width) {
    fail(`layers does not hold positive channel counts, one scale per layer and base64 float32 means and inverse deviations of their ${width} channels`);
  }
  if (![...s.layerScale, ...mean!, ...invStd!].every(Number.isFinite)) fail('layers holds a value that is not a finite number');
  return { channels: [...channels], layerScale: Float32Array.from(s.layerScale), mean: mean!, invStd: invStd! };
}
