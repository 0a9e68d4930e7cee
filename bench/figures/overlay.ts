/**
 * A frame with its saliency map laid over it, as a PNG: the map (a few cells per side) is
 * upsampled bilinearly to the frame, as CAM papers show it (torch's interpolate with
 * align_corners=False), coloured, and blended in proportion to its value.
 */
import sharp from 'sharp';

/** Bilinear resampling of an [h, w] map to [H, W], pixel centres aligned (align_corners=False). */
export function upsample(map: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const at = (y: number, x: number) => map[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
  for (let Y = 0; Y < H; Y++) {
    const sy = Math.max(0, ((Y + 0.5) * h) / H - 0.5);
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let X = 0; X < W; X++) {
      const sx = Math.max(0, ((X + 0.5) * w) / W - 0.5);
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      const top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx;
      const bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx;
      out[Y * W + X] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** A perceptually ordered dark-to-bright colour map (the "inferno" anchors, linearly interpolated). */
const INFERNO: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

export function colour(v: number): readonly [number, number, number] {
  const t = Math.min(1, Math.max(0, v)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [INFERNO[i]!, INFERNO[i + 1]!];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** RGB PNG of `size`×`size`: grey frame (nearest-neighbour), or the frame with the map blended over it. */
export async function framePng(pixels: Float32Array, frame: readonly [number, number], size: number, map?: { data: Float32Array; shape: readonly number[] }): Promise<Buffer> {
  const [h, w] = frame;
  const grey = upsampleNearest(pixels, h, w, size, size);
  const heat = map ? upsample(map.data, map.shape[0]!, map.shape[1] ?? 1, size, size) : undefined;
  const rgb = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const g = grey[i]! * 255;
    if (!heat) {
      rgb.fill(Math.round(g), i * 3, i * 3 + 3);
      continue;
    }
    // The frame dimmed, the map's colour over it, more opaque where the map is stronger.
    const alpha = 0.25 + 0.6 * heat[i]!;
    const c = colour(heat[i]!);
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = Math.round((1 - alpha) * g + alpha * c[k]!);
  }
  return sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

function upsampleNearest(pixels: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let Y = 0; Y < H; Y++) for (let X = 0; X < W; X++) out[Y * W + X] = pixels[Math.floor((Y * h) / H) * w + Math.floor((X * w) / W)]!;
  return out;
}
