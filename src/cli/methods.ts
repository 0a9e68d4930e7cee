/** `--methods`: which score heads calibrate, eval and bench compute ("all": every method of the paper's comparison). */
import { parseHeads } from '../compile/compiler.js';
import { METHOD_HEADS, STATS_HEADS, type HeadName } from '../compile/heads.js';
import { ID_SCORE_SIGN } from '../detect/calibration.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export function parseMethods(value: string | undefined, fallback: readonly HeadName[]): HeadName[] {
  if (value === undefined) return [...fallback];
  if (value === 'all') return [...METHOD_HEADS];
  const heads = parseHeads(value);
  const unscored = heads.filter((h) => ID_SCORE_SIGN[h] === undefined);
  if (unscored.length > 0) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `--methods: ${unscored.join(', ')} is not a score; choose from ${METHOD_HEADS.join(', ')} or all`);
  }
  return heads;
}

export const needsStats = (methods: readonly HeadName[]) => methods.filter((m) => STATS_HEADS.includes(m));
