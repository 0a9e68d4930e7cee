/**
 * Which heads of a fitted verdict rule can flag a frame on their own. A combination spreads
 * its 5 % over several heads (Fisher adds them up, min-p and the two-group rule give each
 * head or group part of the tail), so a head alone must reach a p-value well below 5 %; a
 * calibration of n frames gives no p-value below 1/(n + 1). With few calibration frames a
 * fault that only one head sees (a defocused camera and the sharpness head) can then never be
 * flagged, however far it lies outside the calibration frames' range: calibrate says so.
 */
import { combinerOf, type StoredVerdictRule } from './verdict-rule.js';

/**
 * The heads of `stored` under which even a new frame more unusual on that head than every
 * calibration frame (p = 1/(n + 1), the smallest p-value a head gives), and fully typical
 * (p = 1) on every other head, is not flagged. `frames`: the calibration's n.
 */
export function headsThatCannotFlagAlone(stored: StoredVerdictRule, frames: number): string[] {
  const combiner = combinerOf(stored, frames);
  if (!combiner) return [];
  const p = new Float64Array(stored.heads.length);
  return stored.heads.filter((_, k) => {
    p.fill(1);
    p[k] = 1 / (frames + 1);
    return !(combiner.statistic(p) <= stored.threshold);
  });
}
