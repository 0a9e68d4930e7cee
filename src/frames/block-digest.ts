/**
 * What the frozen-frame check compares beyond a perceptual hash: the model's input tensor cut
 * into a grid of blocks, each block's sum and whether it has any texture (its values are not
 * all equal). A frozen camera re-sends the same picture, so its tensor is bit for bit the
 * same, or the same but for a burned-in clock; a live camera on a still scene has sensor
 * noise, which moves the sum of every textured block. A perceptual hash and a sharpness,
 * computed on a smoothed copy, cannot tell those two apart at 1080p
 * (`node dist/bench/frozen-separation.js`).
 */
import type { BlockDigest } from '../contracts/input-stats.js';

/** Blocks per axis at most; at least 4 pixels a side each. */
export const DIGEST_GRID = 16;

/**
 * The digest of a channel-first [C, H, W] tensor, over its middle channel (green for RGB): a
 * re-sent picture is the same in every channel and sensor noise moves every channel, so one
 * tells them apart at a third of the cost (0.1 CPU-ms for 224×224). Undefined when the
 * tensor's length does not match.
 */
export function blockDigest(tensor: Float32Array, channels: number, height: number, width: number): BlockDigest | undefined {
  const plane = height * width;
  if (tensor.length !== channels * plane || plane === 0) return undefined;
  const rows = Math.max(1, Math.min(DIGEST_GRID, Math.floor(height / 4)));
  const cols = Math.max(1, Math.min(DIGEST_GRID, Math.floor(width / 4)));
  const sums = new Float64Array(rows * cols);
  const min = new Float32Array(rows * cols).fill(Infinity);
  const max = new Float32Array(rows * cols).fill(-Infinity);
  const edges = Int32Array.from({ length: cols + 1 }, (_, j) => Math.ceil((j * width) / cols));
  const channel = (channels >> 1) * plane;
  for (let y = 0; y < height; y++) {
    const rowBase = Math.floor((y * rows) / height) * cols;
    const at = channel + y * width;
    for (let j = 0; j < cols; j++) {
      // One row's run of a block, in locals: the arrays are touched once per run.
      let sum = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let x = at + edges[j]!, end = at + edges[j + 1]!; x < end; x++) {
        const v = tensor[x]!;
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const b = rowBase + j;
      sums[b]! += sum;
      if (lo < min[b]!) min[b] = lo;
      if (hi > max[b]!) max[b] = hi;
    }
  }
  return { sums, textured: Uint8Array.from(sums, (_, b) => (max[b]! > min[b]! ? 1 : 0)) };
}
