/**
 * The `two-group` verdict combination's groups (docs/DEFINITIONS.md#the-verdict-rule). A
 * frame's heads are two kinds of evidence: the classifier heads (GAIA-Z, Energy, Mahalanobis,
 * ViM, …) all read the network's view of the frame and move together on a semantic or
 * covariate shift, so their p-values add up (Fisher); the input heads (exposure, contrast,
 * sharpness, …) each measure one property of the picture and a camera fault moves one or two
 * of them, so the most unusual one speaks for the group (min-p). Pure.
 */
import { isInputHead } from '../contracts/input-stats.js';

/** Which of the rule's heads, in order, are input heads. */
export function inputMask(heads: readonly string[]): boolean[] {
  return heads.map((h) => isInputHead(h));
}

/**
 * The two group statistics of one frame's p-values (lower = more unusual): the classifier
 * heads' Fisher sum Σ ln pₕ and the input heads' smallest p-value. A group without heads gives
 * no evidence: 0 and 1, the largest each can be.
 */
export function groupStatistics(p: ArrayLike<number>, inputs: readonly boolean[]): { classifier: number; input: number } {
  let classifier = 0;
  let input = 1;
  for (let i = 0; i < p.length; i++) {
    if (inputs[i]) input = Math.min(input, p[i]!);
    else classifier += Math.log(p[i]!);
  }
  return { classifier, input };
}
