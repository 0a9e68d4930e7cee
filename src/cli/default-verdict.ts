/**
 * calibrate's verdict rule when --verdict-heads and --verdict-combine are not given: the best
 * rule on the development suite with its camera-fault sets
 * (docs/RESULTS.md#combinations-that-cannot-be-diluted-and-camera-faults).
 */
import type { CombineRule } from '../detect/verdict-rule.js';

/**
 * The heads, those of them that are calibrated: mahalanobis and vim need --stats-data; an
 * input head must be measured on every frame (not input_complexity on IDX sets). Energy is not
 * among them beside ViM, whose score is Energy less a residual term: the rule would count
 * Energy's evidence twice. Without ViM, Energy stands in for it (defaultVerdictHeads).
 */
export const DEFAULT_VERDICT_HEADS = ['gaia_z', 'mahalanobis', 'vim', 'input_exposure', 'input_contrast', 'input_sharpness', 'input_colourfulness', 'input_flat'] as const;
/** Fisher within the classifier heads, min-p within the input heads, the more unusual group decides. */
export const DEFAULT_VERDICT_COMBINE: CombineRule = 'two-group';

/** The default heads that `usable` accepts (calibrated, not near constant), with Energy in ViM's place when ViM is not. */
export function defaultVerdictHeads(usable: (head: string) => boolean): string[] {
  const heads: string[] = DEFAULT_VERDICT_HEADS.filter(usable);
  if (!heads.includes('vim') && usable('energy')) heads.splice(heads.includes('gaia_z') ? 1 : 0, 0, 'energy');
  return heads;
}
