/**
 * The camera's own view of a frame, before any classifier sees it (docs/DEFINITIONS.md#input-heads):
 * cheap statistics of the decoded pixels that a dead, capped, blinded, defocused or
 * wrongly pointed camera moves, and a perceptual hash for frozen streams. They are
 * measured on a small copy of the frame (its longer side at most MEASURE_SIDE pixels,
 * JPEG shrink-on-load makes it cheap): what they look at (large flat areas, overall
 * exposure, blur of several pixels at 1080p) survives the shrink, and the cost stays a
 * fraction of the model's own decode. Pure arithmetic on 8-bit pixels; measure-frame.ts
 * gets the pixels.
 */
import type { InputStats } from '../contracts/input-stats.js';

export type { InputStats };

/** Longest side of the copy the statistics are measured on. */
export const MEASURE_SIDE = 128;
/** A block is flat when its luminance standard deviation is at most this many grey levels (of 255). */
export const FLAT_BLOCK_STD = 2;
/** Blocks along the copy's longer side for the flat share. */
export const FLAT_GRID = 16;
/** The noise floor is this quantile of the 2×2 blocks' luminance standard deviations: the frame's flattest tenth. */
export const NOISE_QUANTILE = 0.1;

/** 8-bit interleaved pixels (1–4 channels). */
export interface PixelImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/**
 * The statistics of a decoded image. `encodedBytes` and `sourcePixels` (the frame's full
 * width × height) give the encoded complexity; leave them out for raw pixels.
 */
export function inputStats(img: PixelImage, encoded?: { readonly bytes: number; readonly sourcePixels: number }): InputStats {
  const luma = lumaOf(img);
  const { mean, std } = meanStd(luma);
  const laplacian = laplacianVariance(luma, img.width, img.height);
  return {
    values: {
      input_exposure: mean / 255,
      input_contrast: std / 255,
      input_sharpness: laplacian,
      input_detail: detailRatio(luma, img.width, img.height, laplacian),
      input_octave: octaveRatio(luma, img.width, img.height, laplacian),
      input_noise: noiseFloor(luma, img.width, img.height),
      input_colourfulness: img.channels >= 3 ? colourfulness(img) : 0,
      input_flat: flatShare(luma, img.width, img.height),
      input_complexity: encoded && encoded.sourcePixels > 0 ? encoded.bytes / encoded.sourcePixels : Number.NaN,
    },
    hash: differenceHash(luma, img.width, img.height),
  };
}

/** BT.601 luma, as floats 0–255 (alpha ignored). */
function lumaOf(img: PixelImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const c = img.channels;
  for (let i = 0, s = 0; i < n; i++, s += c) {
    out[i] = c >= 3 ? 0.299 * img.data[s]! + 0.587 * img.data[s + 1]! + 0.114 * img.data[s + 2]! : img.data[s]!;
  }
  return out;
}

function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i]!;
    sq += v[i]! * v[i]!;
  }
  const mean = sum / v.length;
  return { mean, std: Math.sqrt(Math.max(0, sq / v.length - mean * mean)) };
}

/** Variance of the 4-neighbour Laplacian over the interior (0 for an image under 3×3): low = blurred or empty. */
export function laplacianVariance(l: Float32Array, w: number, h: number): number {
  if (w < 3 || h < 3) return 0;
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const v = l[i - 1]! + l[i + 1]! + l[i - w]! + l[i + w]! - 4 * l[i]!;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return sq / n - mean * mean;
}

/**
 * Fine detail against edges: the Laplacian's variance over the mean squared gradient (horizontal
 * and vertical neighbour differences). Both grow with the square of the contrast, so the ratio
 * does not: it is the shape of the frame's spectrum at the finest scale, which defocus, motion
 * blur and resampling lower and sensor noise or blocking raise, whatever the scene's contrast
 * (white noise gives 5, smooth gradients near 0). 0 for a frame without any gradient.
 */
export function detailRatio(l: Float32Array, w: number, h: number, laplacian = laplacianVariance(l, w, h)): number {
  if (w < 3 || h < 3) return 0;
  const gradient = meanSquaredGradient(l, w, h);
  return gradient > 0 ? laplacian / gradient : 0;
}

/** Mean squared difference of horizontal neighbours plus that of vertical neighbours. */
function meanSquaredGradient(l: Float32Array, w: number, h: number): number {
  let gx = 0;
  let gy = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x + 1 < w; x++) {
      const d = l[row + x + 1]! - l[row + x]!;
      gx += d * d;
    }
    if (y + 1 < h) {
      for (let x = 0; x < w; x++) {
        const d = l[row + w + x]! - l[row + x]!;
        gy += d * d;
      }
    }
  }
  return gx / ((w - 1) * h) + gy / (w * (h - 1));
}

/**
 * Fine detail against detail one octave coarser: the Laplacian's variance on the frame over
 * its variance on the frame averaged in 2×2 blocks. The slope of the frame's spectrum between
 * the two finest octaves, independent of contrast: blur and upsampling lower it, noise raises
 * it (white noise gives 4), and line drawings or text sit apart from photographs of objects.
 * 0 when the coarser copy has no detail (or the frame is under 6×6).
 */
export function octaveRatio(l: Float32Array, w: number, h: number, laplacian = laplacianVariance(l, w, h)): number {
  const hw = Math.floor(w / 2);
  const hh = Math.floor(h / 2);
  if (hw < 3 || hh < 3) return 0;
  const half = new Float32Array(hw * hh);
  for (let y = 0; y < hh; y++) {
    for (let x = 0; x < hw; x++) {
      const i = 2 * y * w + 2 * x;
      half[y * hw + x] = (l[i]! + l[i + 1]! + l[i + w]! + l[i + w + 1]!) / 4;
    }
  }
  const coarse = laplacianVariance(half, hw, hh);
  return coarse > 0 ? laplacian / coarse : 0;
}

/**
 * The noise floor: the standard deviation of the luminance in 2×2 blocks, at its NOISE_QUANTILE
 * over the frame's blocks, in grey levels. In the flattest tenth of a frame (sky, walls, a
 * backdrop) only noise varies, so this is the sensor's noise after shrink and compression, which
 * the scene's own texture elsewhere does not move (as the block-variance noise estimators of
 * image processing read the lowest local variances). Gain in low
 * light, a failing sensor or interference raise it; nothing a camera does lowers it below its
 * calibration frames' except flat frames, which the flat share sees. 0 for a frame under 2×2.
 */
export function noiseFloor(l: Float32Array, w: number, h: number): number {
  const bw = w >> 1;
  const bh = h >> 1;
  if (bw === 0 || bh === 0) return 0;
  // Variances, not deviations: the order is the same, and only the two chosen need a root.
  const v = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = 2 * y * w + 2 * x;
      const a = l[i]!, b = l[i + 1]!, c = l[i + w]!, d = l[i + w + 1]!;
      const mean = (a + b + c + d) / 4;
      v[y * bw + x] = ((a - mean) ** 2 + (b - mean) ** 2 + (c - mean) ** 2 + (d - mean) ** 2) / 4;
    }
  }
  // Linear interpolation between order statistics (the usual definition of a sample quantile),
  // found by selection: a full sort of a 128 × 72 copy's 2,304 blocks added half again to every other head's cost.
  const at = NOISE_QUANTILE * (v.length - 1);
  const lo = Math.floor(at);
  const low = Math.sqrt(select(v, lo));
  if (lo + 1 >= v.length) return low;
  // After selection everything right of lo is ≥ it: the next order statistic is their minimum.
  let next = Infinity;
  for (let k = lo + 1; k < v.length; k++) next = Math.min(next, v[k]!);
  return low + (at - lo) * (Math.sqrt(next) - low);
}

/** Reorders `a` so that a[k] is its k-th smallest value, none larger before it and none smaller after (Hoare's selection). */
function select(a: Float32Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (left < right) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k]!;
}

/** Hasler & Süsstrunk (2003): σ_rgyb + 0.3 μ_rgyb over rg = R − G, yb = (R + G) / 2 − B; 0 for grey. */
function colourfulness(img: PixelImage): number {
  const n = img.width * img.height;
  const c = img.channels;
  let rgSum = 0, rgSq = 0, ybSum = 0, ybSq = 0;
  for (let i = 0, s = 0; i < n; i++, s += c) {
    const r = img.data[s]!, g = img.data[s + 1]!, b = img.data[s + 2]!;
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    rgSum += rg;
    rgSq += rg * rg;
    ybSum += yb;
    ybSq += yb * yb;
  }
  const rgMean = rgSum / n, ybMean = ybSum / n;
  const rgVar = Math.max(0, rgSq / n - rgMean * rgMean), ybVar = Math.max(0, ybSq / n - ybMean * ybMean);
  return Math.sqrt(rgVar + ybVar) + 0.3 * Math.sqrt(rgMean * rgMean + ybMean * ybMean);
}

/**
 * Share of the frame in flat blocks (luminance std ≤ FLAT_BLOCK_STD): letterbox bands, a lens
 * cap, a black or white frame. Blocks tile the image on a grid of FLAT_GRID along its longer
 * side (at least 2 pixels a side); the rest at the right and bottom edges is left out.
 */
function flatShare(l: Float32Array, w: number, h: number): number {
  const side = Math.max(2, Math.floor(Math.max(w, h) / FLAT_GRID));
  const bx = Math.floor(w / side);
  const by = Math.floor(h / side);
  if (bx === 0 || by === 0) return meanStd(l).std <= FLAT_BLOCK_STD ? 1 : 0;
  let flat = 0;
  for (let j = 0; j < by; j++) {
    for (let i = 0; i < bx; i++) {
      let sum = 0, sq = 0;
      for (let y = j * side; y < (j + 1) * side; y++) {
        for (let x = i * side; x < (i + 1) * side; x++) {
          const v = l[y * w + x]!;
          sum += v;
          sq += v * v;
        }
      }
      const k = side * side;
      const mean = sum / k;
      if (Math.sqrt(Math.max(0, sq / k - mean * mean)) <= FLAT_BLOCK_STD) flat++;
    }
  }
  return flat / (bx * by);
}

/**
 * dHash: the luminance averaged onto 9×8 cells (box filter), one bit per horizontal
 * neighbour pair (left brighter than right). Two frames of a frozen camera hash alike
 * whatever their JPEG noise; a scene that moves flips bits.
 */
export function differenceHash(l: Float32Array, w: number, h: number): string {
  const cells = new Float64Array(9 * 8);
  for (let cy = 0; cy < 8; cy++) {
    const y0 = Math.floor((cy * h) / 8), y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * h) / 8));
    for (let cx = 0; cx < 9; cx++) {
      const x0 = Math.floor((cx * w) / 9), x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * w) / 9));
      let sum = 0, n = 0;
      for (let y = y0; y < Math.min(y1, h); y++) for (let x = x0; x < Math.min(x1, w); x++, n++) sum += l[y * w + x]!;
      cells[cy * 9 + cx] = n > 0 ? sum / n : 0;
    }
  }
  let hex = '';
  for (let cy = 0; cy < 8; cy++) {
    let byte = 0;
    for (let cx = 0; cx < 8; cx++) byte = (byte << 1) | (cells[cy * 9 + cx]! > cells[cy * 9 + cx + 1]! ? 1 : 0);
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}
