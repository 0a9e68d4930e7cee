/**
 * calibrate's verdict rule when --verdict-heads and --verdict-combine are not given: the best
 * rule on the development suite with its camera-fault sets
 * (docs/RESULTS.md#combinations-that-cannot-be-diluted-and-camera-faults).
 */
import type { CombineRule } from '../detect/verdict-rule.js';

/**
 * The heads, those of them that are calibrated: mahalanobis and vim need --stats-data; an
 * input head must be measured on every frame (not input_complexity on IDX sets). Energy is
 * not beside ViM (ViM's score is Energy less a residual: a Fisher sum over both gives the
 * logits' energy two votes); without ViM it takes ViM's place.
 */
export const DEFAULT_VERDICT_HEADS = ['gaia_z', 'mahalanobis', 'vim', 'input_exposure', 'input_contrast', 'input_sharpness', 'input_detail', 'input_octave', 'input_noise', 'input_colourfulness', 'input_flat'] as const;
/** Where the first is not calibrated, the second stands in for it. */
const STAND_INS: Readonly<Record<string, string>> = { vim: 'energy' };
/**
 * Fisher within the classifier heads, min-p within the input heads, the more unusual group
 * decides: on the suite with the spectral-shape input heads, corruptions 37.0 %, semantic 0.28 %,
 * camera faults 0.21 % FPR95, 5 % ± 1 % of held-out ID frames flagged for both bundled models, and the drift
 * monitor's false-alarm interval on its held-out verdicts spread as `fisher-guard`'s over random
 * re-splits of the ID halves, medians in 0.8–1.25× (docs/RESULTS.md).
 */
export const DEFAULT_VERDICT_COMBINE: CombineRule = 'two-group';

/** A head the default rule reads when it is calibrated: one of its heads or a stand-in. */
export function inDefaultVerdict(head: string): boolean {
  return (DEFAULT_VERDICT_HEADS as readonly string[]).includes(head) || Object.values(STAND_INS).includes(head);
}

/** The default heads that `usable` accepts (calibrated, not near constant), stand-ins included. */
export function defaultVerdictHeads(usable: (head: string) => boolean): string[] {
  return DEFAULT_VERDICT_HEADS.flatMap((h) => (usable(h) ? [h] : STAND_INS[h] && usable(STAND_INS[h]) ? [STAND_INS[h]] : []));
}
