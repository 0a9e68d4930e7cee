/**
 * `--methods` (calibrate, eval, bench) and `--heads` (compile): which score heads a command
 * computes. `all` means the same in both: every method of the paper's comparison
 * (METHOD_HEADS); `--heads all` adds the logits, which compile always outputs by default.
 */
import { parseHeads } from '../compile/compiler.js';
import { METHOD_HEADS, STATS_HEADS, type HeadName } from '../compile/heads.js';
import { ID_SCORE_SIGN } from '../detect/calibration.js';
import { ErrorCodes, GaiaError } from '../errors.js';

/** What `--heads all` names: the logits and every method. */
export const ALL_HEADS: readonly HeadName[] = ['logits', ...METHOD_HEADS];

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

/** `--heads LIST|all` for compile: all is the logits and every method, as `--methods all` is every method. */
export function parseHeadList(value: string): HeadName[] {
  return value.trim() === 'all' ? [...ALL_HEADS] : parseHeads(value);
}


export const needsStats = (methods: readonly HeadName[]) => methods.filter((m) => STATS_HEADS.includes(m));
