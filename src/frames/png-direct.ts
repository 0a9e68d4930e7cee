/**
 * PNG frames that already have the model's width and height are decoded without libvips.
 * sharp's fixed cost per image (building and running a libvips pipeline, ~1 ms of CPU on
 * the reference machine whatever the image size) is more than the whole GAIA-Z scoring of
 * a small model's frame, while inflating and unfiltering a small PNG takes ~0.1 ms
 * (bench/decode.ts measures both). PNG is lossless and no resampling is needed at the
 * model's size, so the pixels are exactly those sharp would produce; anything this path
 * does not cover exactly (other sizes, 16-bit or palette images, embedded ICC profiles,
 * files that do not decode cleanly) goes to sharp, which also words the errors.
 */
import { decode } from 'fast-png';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** PNG colour types decoded here: grey, RGB, grey+alpha, RGBA (not palette). */
const DIRECT_COLOUR_TYPES = new Set([0, 2, 4, 6]);

export interface DirectPixels {
  /** Interleaved 8-bit pixels, row-major. */
  readonly data: Uint8Array;
  readonly channels: number;
}

/**
 * The PNG's pixels when it is an 8-bit, non-palette PNG of exactly width x height with no
 * ICC profile; undefined otherwise. Reads the header before inflating anything, so a
 * decompression bomb never gets past it.
 */
export function decodePngAtSize(bytes: Uint8Array, width: number, height: number): DirectPixels | undefined {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isHeader = view.getUint32(8) === 13 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
  if (!isHeader || view.getUint32(16) !== width || view.getUint32(20) !== height) return undefined;
  if (bytes[24] !== 8 || !DIRECT_COLOUR_TYPES.has(bytes[25]!)) return undefined;
  try {
    const png = decode(bytes, { checkCrc: true });
    if (png.iccEmbeddedProfile || png.depth !== 8 || png.palette || !(png.data instanceof Uint8Array)) return undefined;
    if (png.data.length !== width * height * png.channels) return undefined;
    return { data: png.data, channels: png.channels };
  } catch {
    return undefined; // corrupt or truncated: sharp decides, and says why
  }
}
