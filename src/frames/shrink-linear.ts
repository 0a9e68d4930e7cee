/**
 * A linear (triangle) reduction of 8-bit interleaved pixels to a smaller size, each axis on
 * its own: what the input statistics' copy is made with from the model's whole scaled frame
 * (whole-frame.ts). The blur is given as a variance, so that the copy is as smooth as the
 * second, 1/8 shrink-on-load decode that made it before (copy-smoothing.ts).
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

/**
 * The working arrays, kept from frame to frame (the function runs start to end on one thread):
 * a few hundred kB per frame that the garbage collector would otherwise reclaim each time.
 */
const scratch = {
  rowArray: new Float32Array(0),
  sumArray: new Uint16Array(0),
  /** Zeroed: the column pass adds into it. */
  rows(length: number): Float32Array {
    if (this.rowArray.length < length) this.rowArray = new Float32Array(length);
    const rows = this.rowArray.subarray(0, length);
    rows.fill(0);
    return rows;
  },
  /** Every element is written by sumBlocks. */
  sums(length: number): Uint16Array {
    if (this.sumArray.length < length) this.sumArray = new Uint16Array(length);
    return this.sumArray.subarray(0, length);
  },
};

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
 * img reduced to width x height (each no larger than img's), rounded to 8 bits, blurred by a
 * triangle of the given variance (in img's pixels²; its half-width at least one pixel). Where
 * img is twice the size or more and the blur allows, 2x2 blocks are summed first (their
 * variance, 1/4, taken from the triangle's), a quarter of the work after it. Then columns,
 * as weighted sums of whole rows (contiguous), then along the rows, a pixel's channels
 * together: this runs on the event loop for every frame.
 */
export function shrinkLinear(img: PixelImage, width: number, height: number, variance: number): PixelImage {
  const halves = img.width >= 2 * width && img.height >= 2 * height && variance >= 0.25;
  // One array type through the loops below (V8 keeps them monomorphic): the block sums, or the pixels widened.
  const src = halves ? sumBlocks(img) : Uint16Array.from(img.data);
  const w = halves ? img.width >> 1 : img.width;
  const hgt = halves ? img.height >> 1 : img.height;
  const halfWidth = Math.max(1, Math.sqrt(6 * (halves ? (variance - 0.25) / 4 : variance)));
  const gain = halves ? 0.25 : 1;
  const c = img.channels;
  const h = taps(w, width, halfWidth);
  const v = taps(hgt, height, halfWidth);
  const line = w * c;
  const rows = scratch.rows(height * line);
  for (let o = 0; o < height; o++) {
    const base = o * line;
    const n = v.count[o]!;
    for (let i = 0; i < n; i++) {
      const weight = v.weights[o * v.size + i]! * gain;
      const from = (v.start[o]! + i) * line;
      for (let x = 0; x < line; x++) rows[base + x] = rows[base + x]! + src[from + x]! * weight;
    }
  }
  const out = new Uint8Array(width * height * c);
  const { start, count, weights, size } = h;
  for (let y = 0; y < height; y++) {
    for (let o = 0, to = y * width * c; o < width; o++) {
      const n = count[o]!;
      const k = o * size;
      const at = y * line + start[o]! * c;
      for (let ch = 0; ch < c; ch++, to++) {
        let sum = 0.5; // rounds half up: the sums are never negative
        for (let i = 0, p = at + ch; i < n; i++, p += c) sum += rows[p]! * weights[k + i]!;
        out[to] = sum; // the Uint8Array truncates
      }
    }
  }
  return { data: out, width, height, channels: c };
}

/** Each 2x2 block's sum (an odd last row or column left out), channels kept apart. */
function sumBlocks(img: PixelImage): Uint16Array {
  const c = img.channels;
  const w = img.width >> 1;
  const h = img.height >> 1;
  const line = img.width * c;
  const out = scratch.sums(w * h * c);
  const d = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length); // a plain view: sharp hands out Buffers
  for (let y = 0; y < h; y++) {
    const top = 2 * y * line;
    const bottom = top + line;
    for (let x = 0, o = y * w * c; x < w; x++) {
      for (let ch = 0, p = 2 * x * c; ch < c; ch++, p++, o++) out[o] = d[top + p]! + d[top + p + c]! + d[bottom + p]! + d[bottom + p + c]!;
    }
  }
  return out;
}
