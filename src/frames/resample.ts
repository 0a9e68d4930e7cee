/**
 * PIL's Image.resize (Pillow's Resample.c, 8-bit images), which torchvision's Resize runs
 * on PIL images, bit for bit, computing only the centre crop that CenterCrop keeps: a
 * separable convolution, horizontal pass first, each pass rounded to 8 bits, weights in
 * 22-bit fixed point. preprocess.ts uses it where a frame is scaled up (a 224x224 or
 * 320x240 frame to 256), and for nearest: libvips aligns pixels differently when it
 * enlarges (4-6 levels from torchvision on average) and picks other pixels for nearest
 * (1 level on average, up to 66), where its bilinear and bicubic reductions stay within
 * half a level on average. Only the W x H output is computed, so enlarging and nearest
 * cost little; reducing a 1920x1080 frame here would take ~25 ms of the event loop, where
 * libvips takes ~7 ms on its own threads, hence libvips for that.
 */
import type { ResizePolicy } from '../model/manifest.js';
import type { CoverCrop } from './pixels.js';

type Interpolation = ResizePolicy['interpolation'];

const PRECISION_BITS = 22;

/** Pillow's filters and their support (in source pixels at scale 1). */
const FILTERS = {
  bilinear: { support: 1, at: (x: number) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: { support: 2, at: bicubic },
} as const;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** One axis' taps for outputs first..first+count: where each starts, how many, and their weights. */
interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  readonly size: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc, for a slice of the outputs. */
function taps(inSize: number, outSize: number, first: number, count: number, filter: (typeof FILTERS)[keyof typeof FILTERS]): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const t = { start: new Int32Array(count), count: new Int32Array(count), weights: new Int32Array(count * size), size };
  const w = new Float64Array(size);
  for (let o = 0; o < count; o++) {
    const center = (first + o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < n; x++) total += w[x] = filter.at((x + xmin - center + 0.5) * (1 / filterScale));
    for (let x = 0; x < n; x++) {
      const v = (total !== 0 ? w[x]! / total : w[x]!) * (1 << PRECISION_BITS);
      t.weights[o * size + x] = Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    }
    t.start[o] = xmin;
    t.count[o] = n;
  }
  return t;
}

/** Pillow's nearest (ImagingScaleAffine): the source index of each output, accumulated as Pillow does. */
function nearestIndex(inSize: number, outSize: number, first: number, count: number): Int32Array {
  const scale = inSize / outSize;
  const index = new Int32Array(count);
  let at = scale * 0.5;
  for (let o = 0; o < first + count; o++, at += scale) if (o >= first) index[o - first] = Math.min(inSize - 1, Math.trunc(at));
  return index;
}

/**
 * The frame (interleaved 8-bit, `channels` per pixel) resized to crop.width x crop.height
 * as PIL resizes, and the width x height at (crop.left, crop.top) of that.
 */
export function resizeCrop(src: Uint8Array, frameWidth: number, frameHeight: number, channels: number, crop: CoverCrop, width: number, height: number, interpolation: Interpolation): Uint8Array {
  if (interpolation === 'nearest') return nearestCrop(src, frameWidth, frameHeight, channels, crop, width, height);
  const filter = FILTERS[interpolation];
  const h = taps(frameWidth, crop.width, crop.left, width, filter);
  const v = taps(frameHeight, crop.height, crop.top, height, filter);
  const firstRow = v.start[0]!;
  const rows = v.start[height - 1]! + v.count[height - 1]! - firstRow;
  const line = width * channels;
  const between = new Uint8Array(rows * line);
  for (let y = 0; y < rows; y++) {
    const from = (firstRow + y) * frameWidth * channels;
    for (let o = 0; o < width; o++) convolve(src, from + h.start[o]! * channels, channels, h, o, between, y * line + o * channels);
  }
  const out = new Uint8Array(height * line);
  for (let o = 0; o < height; o++) {
    for (let x = 0; x < line; x++) convolve(between, (v.start[o]! - firstRow) * line + x, line, v, o, out, o * line + x, 1);
  }
  return out;
}

/** One output (each of `lanes` interleaved values): the taps of output o over src from `at`, every `stride`. */
function convolve(src: Uint8Array, at: number, stride: number, t: Taps, o: number, dst: Uint8Array, to: number, lanes = stride): void {
  const n = t.count[o]!;
  const k = o * t.size;
  for (let c = 0; c < lanes; c++) {
    let sum = 1 << (PRECISION_BITS - 1);
    for (let i = 0; i < n; i++) sum += src[at + i * stride + c]! * t.weights[k + i]!;
    const value = sum >> PRECISION_BITS;
    dst[to + c] = value < 0 ? 0 : value > 255 ? 255 : value;
  }
}

function nearestCrop(src: Uint8Array, frameWidth: number, frameHeight: number, channels: number, crop: CoverCrop, width: number, height: number): Uint8Array {
  const xs = nearestIndex(frameWidth, crop.width, crop.left, width);
  const ys = nearestIndex(frameHeight, crop.height, crop.top, height);
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (ys[y]! * frameWidth + xs[x]!) * channels;
      const to = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = src[from + c]!;
    }
  }
  return out;
}
