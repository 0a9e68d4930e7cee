/**
 * Detection metrics exactly as docs/DEFINITIONS.md (the official GAIA metrics code) defines them.
 * Scores are ID-scores: higher = more in-distribution (for GAIA-Z, s = −raw).
 */

/**
 * t = sort(s_ID)[round(0.05·n)]: the TPR-95 threshold; frames scoring at or below it are
 * flagged. round() is Python's (half to even), as in the official metrics code, so the
 * index agrees for every n (e.g. n = 10 gives index 0, not 1).
 */
export function thresholdAtTpr95(idScores: ArrayLike<number>): number {
  if (idScores.length === 0) throw new RangeError('thresholdAtTpr95 needs at least one ID score');
  rejectNaN(idScores, 'ID');
  const sorted = Float64Array.from(idScores).sort();
  return sorted[Math.min(sorted.length - 1, roundHalfEven(0.05 * sorted.length))]!;
}

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Fraction of OOD frames scoring above the TPR-95 threshold (wrongly accepted as ID). */
export function fpr95(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  if (oodScores.length === 0) throw new RangeError('fpr95 needs at least one OOD score');
  rejectNaN(oodScores, 'OOD');
  const t = thresholdAtTpr95(idScores);
  let above = 0;
  for (let i = 0; i < oodScores.length; i++) if (oodScores[i]! > t) above++;
  return above / oodScores.length;
}

/**
 * Area under the ROC curve with ID as the positive class: the probability that a random
 * ID frame scores above a random OOD frame, ties counting one half (Mann–Whitney U).
 */
export function auroc(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const n1 = idScores.length;
  const n0 = oodScores.length;
  if (n1 === 0 || n0 === 0) throw new RangeError('auroc needs ID and OOD scores');
  const all = pooled(idScores, oodScores);
  let rankSumId = 0;
  for (let i = 0; i < all.length; ) {
    let j = i + 1;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const midRank = (i + 1 + j) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++) if (all[k]!.id) rankSumId += midRank;
    i = j;
  }
  return (rankSumId - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

/** ID and OOD scores in one list, ascending, each marked with its class. */
function pooled(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): Array<{ s: number; id: boolean }> {
  rejectNaN(idScores, 'ID');
  rejectNaN(oodScores, 'OOD');
  return [...Array.from(idScores, (s) => ({ s, id: true })), ...Array.from(oodScores, (s) => ({ s, id: false }))].sort((a, b) => a.s - b.s);
}

/** A NaN score (a failed inference) would silently distort every metric: refuse it. */
function rejectNaN(scores: ArrayLike<number>, which: string): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`${which} score ${i} is NaN; metrics need numeric scores`);
  }
}

/**
 * ROC curve with ID as the positive class: (FPR, TPR) at every distinct threshold, from
 * (0, 0) to (1, 1), where a frame is accepted as ID when its score ≥ the threshold.
 */
export function rocCurve(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): Array<[number, number]> {
  const all = pooled(idScores, oodScores).reverse();
  const points: Array<[number, number]> = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    for (; j < all.length && all[j]!.s === all[i]!.s; j++) all[j]!.id ? tp++ : fp++;
    points.push([fp / oodScores.length, tp / idScores.length]);
    i = j;
  }
  return points;
}
