/** The post-GAIA heads' reference statistics from the parity fixtures (tools/reference/make_baseline_fixtures.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureStats } from '../../src/compile/feature-stats.js';
import { readNpy } from './npy.js';

/** The fixtures' reference statistics, as calibrate would hand them to the compiler. */
export function referenceStats(dir: string): FeatureStats {
  const ref = (name: string) => readNpy(join(dir, 'baselines', `${name}.npy`));
  const settings = JSON.parse(readFileSync(join(dir, 'baselines', 'sota_settings.json'), 'utf8')) as { knn_k: number; vim_dim: number };
  const [numClasses, dim] = ref('class_means').shape as [number, number];
  const bank = ref('knn_bank');
  return {
    reactThreshold: ref('react_threshold').data[0]!,
    numClasses,
    dim,
    classMeans: ref('class_means').data,
    precision: ref('precision').data,
    knn: { k: settings.knn_k, bank: bank.data, rows: bank.shape[0]! },
    featureMean: ref('train_mean').data,
    vim: { principalDim: settings.vim_dim, origin: ref('vim_origin').data, residualBasis: ref('vim_basis').data, alpha: ref('vim_alpha').data[0]! },
  };
}

