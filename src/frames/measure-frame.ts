/**
 * A frame's input statistics (input-stats.ts) from its message value: an encoded frame
 * is decoded a second time, small (its longer side at most MEASURE_SIDE, JPEG
 * shrink-on-load doing most of it), independently of the model's own decode, so the
 * model's preprocessing keeps its exact pixels; raw pixels are measured as they are, or
 * box-averaged when larger. Never throws: a frame the model's decode refuses is
 * dead-lettered by that decode, and one it cannot measure measures as NaN (no evidence).
 */
import sharp from 'sharp';
import { INPUT_HEADS, type InputStats } from '../contracts/input-stats.js';
import { inputStats, MEASURE_SIDE, type PixelImage } from './input-stats.js';
import { decodePngAtSize } from './png-direct.js';
import type { RawImage } from './preprocess.js';

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
