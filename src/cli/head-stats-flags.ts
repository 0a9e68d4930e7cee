/** calibrate's settings of the post-GAIA heads' statistics: --knn-bank, --knn-k, --vim-dim (each checked when given). */
import type { HeadStatsSettings } from '../detect/head-stats.js';
import { wholeNumber } from './flags.js';

export function headStatsSettings(values: { 'knn-bank'?: string; 'knn-k'?: string; 'vim-dim'?: string }): HeadStatsSettings {
  const given = (flag: 'knn-bank' | 'knn-k' | 'vim-dim') => (values[flag] === undefined ? undefined : wholeNumber(`--${flag}`, values[flag], 1));
  const knnBank = given('knn-bank');
  const knnK = given('knn-k');
  const vimDim = given('vim-dim');
  return { ...(knnBank !== undefined ? { knnBank } : {}), ...(knnK !== undefined ? { knnK } : {}), ...(vimDim !== undefined ? { vimDim } : {}) };
}
