/**
 * GAIA-Z's typical zero ratio per tap on a frame set: each frame's ratio of a tap is the
 * mean over the tap's channels (gaia_z_ratios holds one per channel, taps concatenated),
 * and the typical value is its median over the frames. calibrate stores it so the evidence
 * pages can show a frame's ratios against the calibration's.
 */

/** Each tap's channel count, where the compile says (a graph reused from a package record does not). */
export function tapChannels(taps: ReadonlyArray<{ readonly tensor: string }>): number[] | undefined {
  const channels = taps.map((t) => {
    const tap = t as { shape?: ReadonlyArray<number | string>; channelAxis?: number };
    const c = tap.shape && tap.channelAxis !== undefined ? tap.shape[tap.channelAxis] : undefined;
    return typeof c === 'number' ? c : undefined;
  });
  return channels.length > 0 && channels.every((c) => c !== undefined) ? (channels as number[]) : undefined;
}

/** The median over `frames` rows of flat ([frames, Σ channels]) ratios of each tap's mean ratio; undefined when the shapes disagree. */
export function typicalZeroRatios(flat: Float32Array, frames: number, channels: readonly number[]): number[] | undefined {
  const total = channels.reduce((a, b) => a + b, 0);
  if (frames === 0 || total === 0 || flat.length !== frames * total) return undefined;
  return channels.map((c, t) => {
    const start = channels.slice(0, t).reduce((a, b) => a + b, 0);
    const means = new Float64Array(frames);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += flat[f * total + start + k]!;
      means[f] = sum / c;
    }
    means.sort();
    const mid = frames >> 1;
    return Number((frames % 2 ? means[mid]! : (means[mid - 1]! + means[mid]!) / 2).toPrecision(6));
  });
}

/** The calibration's typical zero ratio per tap, when GAIA-Z's ratios were scored and the taps' channels are known. */
export function zeroRatiosOf(flat: Float32Array | undefined, frames: number, taps: ReadonlyArray<{ readonly tensor: string }>): { zeroRatios?: { frames: number; taps: number[] } } {
  const channels = tapChannels(taps);
  const typical = flat && channels ? typicalZeroRatios(flat, frames, channels) : undefined;
  return typical ? { zeroRatios: { frames, taps: typical } } : {};
}
