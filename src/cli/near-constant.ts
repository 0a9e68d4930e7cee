/** calibrate's warning for a head that cannot judge the model it was calibrated on. */
import { UNINFORMATIVE_GAIA_Z_NOTE } from '../compile/heads.js';
import type { HeadCalibration } from '../detect/calibration.js';

/**
 * What to tell the user about a head that gave one score to (nearly) every calibration
 * frame: that it cannot judge this model, why where the compiler foresaw it (GAIA-Z with no
 * zero-derivative op between its taps and the logits), and which heads still rank.
 */
export function nearConstantWarning(
  head: string,
  c: HeadCalibration,
  frames: number,
  compileNotes: readonly string[],
  ranking: readonly string[],
): string {
  const q = (v: number | undefined) => (v === undefined ? '?' : v.toPrecision(6));
  const foreseen = head === 'gaia_z' && compileNotes.includes(UNINFORMATIVE_GAIA_Z_NOTE);
  const why = head === 'gaia_z'
    ? foreseen
      ? ', as the compiler foresaw (no tap reaches the logits through an op whose derivative is zero on a region, so no gradient entry is zero)'
      : ' (almost no gradient entry is zero at the taps on these frames)'
    : '';
  return (
    `${head} is near constant on the ${frames} calibration frames (q05 ${q(c.quantiles.q05)}, q95 ${q(c.quantiles.q95)}; ` +
    `p0 = ${(100 * c.flagRate).toFixed(1)}%, not 5%)${why}: it cannot tell frames apart on this model. ` +
    (ranking.length > 0 ? `The heads that still rank these frames: ${ranking.join(', ')}.` : 'No calibrated head ranks these frames.')
  );
}
