/**
 * How much libvips smooths a frame it reduces, as the variance (in source pixels²) of the
 * equivalent blur: JPEG shrink-on-load averages f x f blocks, libvips' resize then box-shrinks
 * by whole numbers and reduces the rest with its kernel widened by the reduction. The input
 * statistics' copy made from the model's whole scaled frame (measure-frame.ts measureWhole)
 * adds the smoothing that the second 128 px decode had and the model's decode has not, so
 * the statistics, sharpness above all, keep the scale they were calibrated with.
 */

/** sharp's JPEG shrink-on-load factor for a reduction by `shrink` (sharp 0.34 pipeline.cc). */
export function jpegShrinkOnLoad(shrink: number, fastShrinkOnLoad: boolean): number {
  const room = fastShrinkOnLoad ? 1 : 2;
  let f = shrink >= 8 * room ? 8 : shrink >= 4 * room ? 4 : shrink >= 2 * room ? 2 : 1;
  if (f > 1 && Math.trunc(shrink) === f) f /= 2; // sharp's guard against libjpeg's rounding
  return f;
}

export interface ReduceSteps {
  /** The reduction, source size over output size (≥ 1). */
  readonly shrink: number;
  /** The frame is a JPEG (libjpeg scales while it decodes). */
  readonly jpeg: boolean;
  readonly fastShrinkOnLoad: boolean;
  /** libvips' kernel: linear (a triangle, variance 1/6 of its half-width²) or cubic (Catmull-Rom, second moment 0). */
  readonly kernel: 'linear' | 'cubic';
}

/** The blur's variance, in source pixels², of shrink-on-load, libvips' box shrink (reduce gap 2) and its kernel. */
export function reduceSmoothing(steps: ReduceSteps): number {
  const f = steps.jpeg ? jpegShrinkOnLoad(steps.shrink, steps.fastShrinkOnLoad) : 1;
  const r = steps.shrink / f;
  const box = Math.max(1, Math.floor(r / 2));
  const kernel = steps.kernel === 'linear' ? (r * r) / 6 : 0;
  return (f * f - 1) / 12 + f * f * ((box * box - 1) / 12 + kernel);
}
