/**
 * A verdict rule fitted in memory, as `calibrate` fits it and the agent loads it, on raw
 * calibration scores: the benches and tests that refit a rule on many calibration draws
 * (docs/DEFINITIONS.md#the-calibrations-own-sampling-error) judge exactly as a written and
 * reloaded calibration would, without writing one.
 */
import { isInputHead, type InputHead } from '../contracts/input-stats.js';
import { ID_SCORE_SIGN } from '../detect/calibration.js';
import { InputAwareJudge, InputReference } from '../detect/input-heads.js';
import { decodeFloats, fitVerdictRule, ruleOfFit, type CombineRule, type Judge } from '../detect/verdict-rule.js';
import { calibrateInputHeads } from './input-calibration.js';

/**
 * The rule `combine` over `heads`, fitted on the calibration frames' raw scores `raw[head]`
 * (an input head's raw statistic, any other head's score as the scoring graph gives it).
 */
export function judgeFittedOn(raw: Readonly<Record<string, ArrayLike<number>>>, heads: readonly string[], combine: CombineRule): Judge {
  const inputHeads = heads.filter(isInputHead);
  const inputs = calibrateInputHeads(Object.fromEntries(inputHeads.map((h) => [h, raw[h]!])));
  const sign = (h: string): 1 | -1 => {
    const s = isInputHead(h) ? 1 : ID_SCORE_SIGN[h];
    if (s === undefined) throw new RangeError(`${h} is not a head a verdict rule can combine`);
    return s;
  };
  const idScores = Object.fromEntries(heads.map((h) => [h, isInputHead(h) ? inputs.idScores[h]! : Float64Array.from(raw[h]!, (v) => sign(h) * v)]));
  // The references as the file keeps them: float32 (an input head's derived from its values the same way).
  const references = Object.fromEntries(heads.map((h) => [h, Float64Array.from(Float32Array.from(idScores[h]!))]));
  const rule = ruleOfFit(fitVerdictRule(combine, heads, idScores), references, sign);
  if (inputHeads.length === 0) return rule;
  // The input heads' references from their values as stored (float32), as loading makes them.
  return new InputAwareJudge(rule, new Map(inputHeads.map((h) => [h, new InputReference(h as InputHead, decodeFloats(inputs.stored[h]!.values, 'f32')!)])));
}
