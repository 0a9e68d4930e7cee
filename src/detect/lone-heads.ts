/**
 * Which heads of a fitted verdict rule can flag a frame on their own. A combination spreads
 * its 5 % over several heads (Fisher adds them up, min-p and the two-group rule give each
 * head or group part of the tail), so a head alone must reach a p-value well below 5 %; a
 * calibration of n frames gives no p-value below about 1/n. With few calibration frames a
 * fault that only one head sees (a defocused camera and the sharpness head) can then never be
 * flagged, however far it lies outside the calibration frames' range: calibrate says so.
 */
import { ReferenceScores, combinerOf, type StoredVerdictRule } from './verdict-rule.js';

/**
 * The heads of `stored` under which even a frame as unusual as the most unusual calibration
 * frame on that head, and fully typical (p = 1) on every other head, is not flagged.
 */
export function headsThatCannotFlagAlone(stored: StoredVerdictRule, idScores: Readonly<Record<string, ArrayLike<number>>>): string[] {
  const n = idScores[stored.heads[0]!]!.length;
  const combiner = combinerOf(stored, n);
  if (!combiner) return [];
  const p = new Float64Array(stored.heads.length);
  return stored.heads.filter((head, k) => {
    const scores = idScores[head]!;
    let lowest = Infinity;
    for (let j = 0; j < scores.length; j++) lowest = Math.min(lowest, scores[j]!);
    p.fill(1);
    // The smallest leave-one-out p-value a calibration frame has on this head, on the calibration's grid.
    p[k] = ReferenceScores.fromScores(scores).countAtOrBelow(lowest) / n;
    return !(combiner.statistic(p, true) <= stored.threshold);
  });
}
