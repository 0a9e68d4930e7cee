/**
 * A frame's input statistics (input-stats.ts) from its message value. An encoded frame is
 * measured on a copy whose longer side is at most MEASURE_SIDE: made from the whole scaled
 * frame that the model's own decode produced (whole-frame.ts, shrink-linear.ts) where the
 * model's resize allows it, so the frame is decoded once; otherwise from a second small
 * libvips decode (JPEG shrink-on-load doing most of it), independent of the model's, so
 * the model's preprocessing keeps its exact pixels either way. Raw pixels are measured as
 * they are, or box-averaged when larger. Never throws: a frame the model's decode refuses
 * is dead-lettered by that decode, and one it cannot measure measures as NaN (no evidence).
 */
import sharp from 'sharp';
import { INPUT_HEADS, type InputStats } from '../contracts/input-stats.js';
import { inputStats, MEASURE_SIDE, type PixelImage } from './input-stats.js';
import { decodePngAtSize } from './png-direct.js';
import type { RawImage } from './preprocess.js';
import { reduceSmoothing } from './copy-smoothing.js';
import { shrinkLinear } from './shrink-linear.js';
import type { WholeFrame } from './whole-frame.js';

/** What a frame without statistics measures as: every head NaN (its p-value says nothing), no hash. */
export const UNMEASURED: InputStats = { values: Object.fromEntries(INPUT_HEADS.map((h) => [h, Number.NaN])) as InputStats['values'], hash: '' };

/** Statistics of an encoded frame (JPEG, PNG, ...). */
export async function measureEncoded(bytes: Uint8Array): Promise<InputStats> {
  const small = smallPng(bytes);
  if (small) return small;
  try {
    // Called once the model's decode accepted the frame (its pixel limit passed). failOn none:
    // a damaged frame that frames.damaged lets through is measured as decoded.
    const img = sharp(bytes, { limitInputPixels: false, failOn: 'none' });
    const meta = await img.metadata();
    const { data, info } = await img
      .timeout({ seconds: 2 })
      .removeAlpha()
      .resize(MEASURE_SIDE, MEASURE_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    return inputStats({ data, width: info.width, height: info.height, channels: info.channels }, { bytes: bytes.byteLength, sourcePixels: pixels });
  } catch {
    return UNMEASURED;
  }
}

/**
 * Statistics from the model's whole scaled frame, reduced to the measured copy's size (the
 * frame's aspect, longer side MEASURE_SIDE). undefined where the model's decode enlarged the
 * frame, or where the copy would be enlarged (a frame no larger than the copy, or a model
 * input smaller than it): measureEncoded measures those.
 */
export function measureWhole(whole: WholeFrame, encodedBytes: number): InputStats | undefined {
  const { sourceWidth: w, sourceHeight: h } = whole;
  const shrink = Math.max(w, h) / MEASURE_SIDE;
  if (shrink <= 1) return undefined;
  const width = Math.max(1, Math.round(w / shrink));
  const height = Math.max(1, Math.round(h / shrink));
  // The whole frame must lie between the copy and the frame: an enlarged one has lost its detail to the model's resampling.
  if (whole.width < width || whole.height < height || whole.width > w || whole.height > h) return undefined;
  // The copy as smooth as the second decode's (copy-smoothing.ts): what the model's decode lacks of it.
  const copy = reduceSmoothing({ shrink, jpeg: whole.jpeg, fastShrinkOnLoad: true, kernel: 'linear' });
  const scale = h / whole.height;
  return inputStats(shrinkLinear(whole, width, height, Math.max(0, copy - whole.smoothing) / (scale * scale)), { bytes: encodedBytes, sourcePixels: w * h });
}

/**
 * A PNG no larger than the measured copy, decoded without libvips (png-direct.ts): sharp's
 * fixed cost per image is many times a small frame's own decode. undefined: not such a PNG.
 */
function smallPng(bytes: Uint8Array): InputStats | undefined {
  // The IHDR chunk follows the 8-byte signature: length, "IHDR", then width and height (big-endian).
  if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width > MEASURE_SIDE || height > MEASURE_SIDE) return undefined;
  const direct = decodePngAtSize(bytes, width, height);
  if (!direct) return undefined;
  return inputStats({ data: direct.data, width, height, channels: direct.channels }, { bytes: bytes.byteLength, sourcePixels: width * height });
}

/** Statistics of raw 8-bit pixels (HWC); no encoded size, so no complexity. */
export function measureRaw(pixels: Uint8Array, raw: RawImage): InputStats {
  if (pixels.length !== raw.width * raw.height * raw.channels) return UNMEASURED;
  return inputStats(shrinkBox({ data: pixels, width: raw.width, height: raw.height, channels: raw.channels }));
}

/** An integer box-average shrink to a longer side of at most MEASURE_SIDE (the image itself when small). */
function shrinkBox(img: PixelImage): PixelImage {
  const factor = Math.ceil(Math.max(img.width, img.height) / MEASURE_SIDE);
  if (factor <= 1) return img;
  const w = Math.floor(img.width / factor);
  const h = Math.floor(img.height / factor);
  const c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) sum += img.data[((y * factor + dy) * img.width + x * factor + dx) * c + k]!;
        out[(y * w + x) * c + k] = Math.round(sum / (factor * factor));
      }
    }
  }
  return { data: out, width: w, height: h, channels: c };
}
