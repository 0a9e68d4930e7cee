/**
 * calibrate's verdict rule when --verdict-heads and --verdict-combine are not given: the best
 * rule on the development suite with its camera-fault sets
 * (docs/RESULTS.md#combinations-that-cannot-be-diluted-and-camera-faults).
 */
import type { CombineRule } from '../detect/verdict-rule.js';

/**
 * The heads, those of them that are calibrated: mahalanobis and vim need --stats-data; an
 * input head must be measured on every frame (not input_complexity on IDX sets).
 */
export const DEFAULT_VERDICT_HEADS = ['gaia_z', 'energy', 'mahalanobis', 'vim', 'input_exposure', 'input_contrast', 'input_sharpness', 'input_colourfulness', 'input_flat'] as const;
/**
 * Fisher with a min-p guard. `two-group` judges the suite better and flags 5 % ± 1 % of held-out
 * ID frames (docs/RESULTS.md), but the drift monitor on its held-out verdicts ran outside
 * 0.8–1.25× of its false-alarm interval on the shipped halves (fmnist-cnn 0.55×), the condition
 * set for the switch; over random re-splits of the halves the two rules spread alike.
 */
export const DEFAULT_VERDICT_COMBINE: CombineRule = 'fisher-guard';

/** The default heads that `usable` accepts (calibrated, not near constant). */
export function defaultVerdictHeads(usable: (head: string) => boolean): string[] {
  return DEFAULT_VERDICT_HEADS.filter(usable);
}
