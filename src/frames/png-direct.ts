/**
 * PNG frames that already have the model's width and height are decoded without libvips.
 * sharp's fixed cost per image (building and running a libvips pipeline, ~1 ms of CPU on
 * the reference machine whatever the image size) is more than the GAIA-Z scoring of a
 * small model's frame, while inflating (node's zlib) and unfiltering a small PNG takes
 * ~0.02 ms (bench/decode.ts measures the paths). PNG is lossless and nothing is resampled
 * at the model's size, so the pixels are exactly those sharp produces (test/png-direct).
 *
 * Deliberately narrow: 8-bit, non-interlaced grey, RGB, grey+alpha or RGBA, every chunk's
 * CRC intact, no ICC profile. Anything else (other sizes, 16-bit, palette or interlaced
 * images, damaged files) returns undefined and goes to sharp, which also words the errors.
 * A general decoder library measured 3x slower here (fast-png 70 µs, pngjs 36 µs per frame).
 */
import { crc32, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Channels of the PNG colour types decoded here: grey, RGB, grey+alpha, RGBA (not palette). */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export interface DirectPixels {
  /** Interleaved 8-bit pixels, row-major. */
  readonly data: Uint8Array;
  readonly channels: number;
}

/**
 * The PNG's pixels when it is a plain 8-bit PNG of exactly width x height; undefined
 * otherwise. The header is checked before anything is inflated, and inflating stops at
 * the expected size, so a decompression bomb never gets past it.
 */
export function decodePngAtSize(bytes: Uint8Array, width: number, height: number): DirectPixels | undefined {
  const png = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (png.length < 45 || !png.subarray(0, 8).equals(SIGNATURE)) return undefined;
  if (png.readUInt32BE(8) !== 13 || png.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const channels = CHANNELS[png[25]!];
  const plain = png[24] === 8 && png[26] === 0 && png[27] === 0 && png[28] === 0; // depth, compression, filter, interlace
  if (png.readUInt32BE(16) !== width || png.readUInt32BE(20) !== height || !plain || channels === undefined) return undefined;

  const idat: Buffer[] = [];
  let ended = false;
  let previous = '';
  for (let at = 8; !ended; ) {
    if (at + 12 > png.length) return undefined; // truncated
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    if (end > png.length || crc32(png.subarray(at + 4, end - 4)) !== png.readUInt32BE(end - 4)) return undefined;
    // IDAT chunks must be consecutive (PNG spec 5.6); libpng, under sharp, rejects a split run.
    if (type === 'IDAT' && idat.length > 0 && previous !== 'IDAT') return undefined;
    if (type === 'IDAT') idat.push(png.subarray(at + 8, end - 4));
    else if (type === 'iCCP') return undefined; // sharp may convert colours by the profile
    else if (type === 'IEND') ended = true;
    previous = type;
    at = end;
  }

  const stride = width * channels;
  const expected = height * (stride + 1); // each row: its filter type, then its bytes
  let filtered: Buffer;
  try {
    filtered = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: expected });
  } catch {
    return undefined;
  }
  if (filtered.length !== expected) return undefined;
  const data = new Uint8Array(height * stride);
  return unfilter(filtered, data, height, stride, channels) ? { data, channels } : undefined;
}

/** Reverses the per-row PNG filters (None, Sub, Up, Average, Paeth) into `out`. */
function unfilter(src: Uint8Array, out: Uint8Array, rows: number, stride: number, bpp: number): boolean {
  for (let y = 0; y < rows; y++) {
    const filter = src[y * (stride + 1)]!;
    const line = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride; // the row above in `out`; treated as zeros on the first row
    for (let x = 0; x < stride; x++) {
      const raw = src[line + x]!;
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[prev + x]! : 0;
      let value: number;
      switch (filter) {
        case 0:
          value = raw;
          break;
        case 1:
          value = raw + a;
          break;
        case 2:
          value = raw + b;
          break;
        case 3:
          value = raw + ((a + b) >> 1);
          break;
        case 4: {
          const c = x >= bpp && y > 0 ? out[prev + x - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          value = raw + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          return false; // not a PNG filter type: a damaged file
      }
      out[row + x] = value & 0xff;
    }
  }
  return true;
}
