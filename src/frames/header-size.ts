/**
 * A frame's size and channel count read from its first bytes (JPEG's SOF segment, PNG's
 * IHDR), so the crop and grey paths need no separate libvips metadata call per frame
 * (a second trip through libuv's pool and libvips' header loader before the decode itself).
 * Undefined for anything else or anything malformed: the caller asks libvips then.
 */
export interface HeaderSize {
  readonly width: number;
  readonly height: number;
  /** Colour (JPEG with 3 or 4 components; PNG RGB, RGBA or palette) rather than grey (with or without alpha). */
  readonly colour: boolean;
}

/** JPEG start-of-frame markers (baseline, extended, progressive, lossless; not DHT C4, JPG C8, DAC CC). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegSize(b: Uint8Array): HeaderSize | undefined {
  let i = 2; // after SOI
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const length = (b[i + 2]! << 8) | b[i + 3]!;
    if (SOF.has(marker)) {
      const height = (b[i + 5]! << 8) | b[i + 6]!;
      const width = (b[i + 7]! << 8) | b[i + 8]!;
      const components = b[i + 9]!;
      // Height 0 means "defined by a later DNL segment": leave that to libvips.
      return width > 0 && height > 0 && components > 0 ? { width, height, colour: components >= 3 } : undefined;
    }
    if (marker === 0xd9 || marker === 0xda || length < 2) return undefined; // EOI or scan before any SOF
    i += 2 + length;
  }
  return undefined;
}

/** PNG colour types: grey 0, RGB 2, palette 3, grey + alpha 4, RGBA 6. */
const PNG_COLOUR: Record<number, boolean> = { 0: false, 2: true, 3: true, 4: false, 6: true };

function pngSize(b: Uint8Array): HeaderSize | undefined {
  // Signature (8), IHDR length (4) and type (4), then width, height, depth, colour type.
  if (b.length < 26 || String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const colour = PNG_COLOUR[b[25]!];
  if (colour === undefined || width === 0 || height === 0) return undefined;
  return { width, height, colour };
}

export function headerSize(b: Uint8Array, format: string): HeaderSize | undefined {
  if (format === 'jpeg') return jpegSize(b);
  if (format === 'png') return pngSize(b);
  return undefined;
}
