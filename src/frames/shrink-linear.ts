/**
 * A linear (triangle) reduction of 8-bit interleaved pixels to a smaller size, each axis on
 * its own: what the input statistics' copy is made with from the model's whole scaled frame
 * (whole-frame.ts). The triangle's half-width is given (at least the reduction, so every
 * source pixel counts), so that the copy can be as smooth as the second, 1/8 shrink-on-load
 * decode that made it before (copy-smoothing.ts).
 */
import type { PixelImage } from './input-stats.js';

/** One axis' taps: where each output's run of source pixels starts, how many, their weights. */
interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float32Array;
  readonly size: number;
}

const cache = new Map<string, Taps>();

function taps(inSize: number, outSize: number, halfWidth: number): Taps {
  const key = `${inSize}:${outSize}:${halfWidth}`;
  const known = cache.get(key);
  if (known) return known;
  const scale = inSize / outSize;
  const size = Math.ceil(2 * halfWidth) + 2;
  const t: Taps = { start: new Int32Array(outSize), count: new Int32Array(outSize), weights: new Float32Array(outSize * size), size };
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const first = Math.max(0, Math.floor(centre - halfWidth));
    const end = Math.min(inSize, Math.ceil(centre + halfWidth));
    let total = 0;
    for (let i = first; i < end; i++) total += Math.max(0, 1 - Math.abs(i + 0.5 - centre) / halfWidth);
    for (let i = first; i < end; i++) t.weights[o * size + i - first] = Math.max(0, 1 - Math.abs(i + 0.5 - centre) / halfWidth) / total;
    t.start[o] = first;
    t.count[o] = end - first;
  }
  if (cache.size > 64) cache.clear(); // a handful of frame sizes in practice
  cache.set(key, t);
  return t;
}

/**
 * img reduced to width x height (each no larger than img's), rounded to 8 bits; the triangle's
 * half-width in img's pixels, at least the reduction on each axis.
 */
export function shrinkLinear(img: PixelImage, width: number, height: number, halfWidth = 0): PixelImage {
  const c = img.channels;
  const h = taps(img.width, width, halfWidth > 0 ? Math.max(halfWidth, 1) : img.width / width);
  const v = taps(img.height, height, halfWidth > 0 ? Math.max(halfWidth, 1) : img.height / height);
  const rows = new Float32Array(img.height * width * c);
  for (let y = 0; y < img.height; y++) {
    const line = y * img.width * c;
    for (let o = 0; o < width; o++) {
      const at = line + h.start[o]! * c;
      const n = h.count[o]!;
      const k = o * h.size;
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += img.data[at + i * c + ch]! * h.weights[k + i]!;
        rows[(y * width + o) * c + ch] = sum;
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  const stride = width * c;
  for (let o = 0; o < height; o++) {
    const at = v.start[o]! * stride;
    const n = v.count[o]!;
    const k = o * v.size;
    for (let x = 0; x < stride; x++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += rows[at + i * stride + x]! * v.weights[k + i]!;
      out[o * stride + x] = Math.round(sum);
    }
  }
  return { data: out, width, height, channels: c };
}
