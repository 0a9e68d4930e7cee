/**
 * Frame bytes → model input with real sharp, following the bundled fmnist-cnn manifest
 * (models/fmnist-cnn/README.md is the contract: BT.601 grey, alpha ignored, contain-resize
 * centred on a 0 background, x = (v/255 − 0.286)/0.353). Every image is generated here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { loadModelPackage, validateManifest, type ModelManifest, type ModelPackage } from '../../src/model/manifest.js';
import { FrameError, Preprocessor, type FrameErrorReason } from '../../src/frames/preprocess.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PKG_DIR = join(ROOT, 'models', 'fmnist-cnn');
const MEAN = 0.286;
const STD = 0.353;
/** One 8-bit grey level, normalised: 1/255/0.353 ≈ 0.0111. */
const LEVEL = 1 / 255 / STD;
const norm = (v: number) => (v / 255 - MEAN) / STD;
/** The normalised background (0): −0.286/0.353 ≈ −0.810. */
const BG = norm(0);

const LIMITS = { maxBytes: 1 << 20, maxPixels: 1_000_000 };

let pkg: ModelPackage;
let pre: Preprocessor;
beforeAll(async () => {
  pkg = await loadModelPackage(PKG_DIR);
  pre = new Preprocessor(pkg.manifest, LIMITS);
});

async function decode(bytes: Uint8Array, p: Preprocessor = pre): Promise<Float32Array> {
  const out = new Float32Array(p.elementsPerFrame);
  await p.decodeInto(bytes, out);
  return out;
}

async function frameError(bytes: Uint8Array, p: Preprocessor = pre): Promise<FrameError> {
  try {
    await decode(bytes, p);
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('expected a FrameError');
}

/** A 28x28 grey image whose pixel i is i mod 256: every 8-bit value appears. */
const RAMP = Buffer.from(Array.from({ length: 784 }, (_, i) => i % 256));
/** A smooth 28x28 grey image (a diagonal ramp), which lossy codecs keep within a few levels. */
const SMOOTH = Buffer.from(Array.from({ length: 784 }, (_, i) => 20 + 4 * ((i % 28) + Math.floor(i / 28))));
const grey = (pixels: Buffer, width = 28, height = 28) => sharp(pixels, { raw: { width, height, channels: 1 } });
const solid = (width: number, height: number, rgb: { r: number; g: number; b: number }, alpha?: number) =>
  sharp({
    create: alpha === undefined ? { width, height, channels: 3, background: rgb } : { width, height, channels: 4, background: { ...rgb, alpha } },
  });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function rowOf(out: Float32Array, y: number): number[] {
  return Array.from(out.subarray(y * 28, (y + 1) * 28));
}

describe('the bundled manifest', () => {
  it('loads and describes a 1x28x28 grey input with 10 labels', () => {
    expect(pkg.manifest.input.shape).toEqual([null, 1, 28, 28]);
    expect(pkg.manifest.input.channels).toBe('gray');
    expect(pkg.manifest.input.resize).toEqual({ mode: 'contain', width: 28, height: 28, interpolation: 'bilinear', background: 0 });
    expect(pkg.manifest.input.mean).toEqual([MEAN]);
    expect(pkg.manifest.input.std).toEqual([STD]);
    expect(pkg.manifest.labels).toHaveLength(10);
    expect(pkg.modelPath).toBe(join(PKG_DIR, 'model.onnx'));
    expect(pre.elementsPerFrame).toBe(784);
  });
});

describe('decoding and normalisation', () => {
  it('normalises a 28x28 grey PNG exactly: (v/255 − 0.286)/0.353 for every 8-bit value', async () => {
    const out = await decode(await grey(RAMP).png().toBuffer());
    expect(out).toHaveLength(784);
    for (let i = 0; i < 784; i++) expect(Math.abs(out[i]! - norm(RAMP[i]!))).toBeLessThan(1e-6);
  });

  it('writes only its frame into a larger batch buffer, at the offset given', async () => {
    const batch = new Float32Array(3 * 784).fill(42);
    await pre.decodeInto(await grey(RAMP).png().toBuffer(), batch.subarray(784));
    expect(batch.subarray(0, 784).every((x) => x === 42)).toBe(true);
    expect(batch.subarray(2 * 784).every((x) => x === 42)).toBe(true);
    expect(Math.abs(batch[784 + 255]! - norm(255))).toBeLessThan(1e-6);
  });

  it('decodes a lossless WebP exactly', async () => {
    const out = await decode(await grey(RAMP).webp({ lossless: true }).toBuffer());
    for (let i = 0; i < 784; i++) expect(Math.abs(out[i]! - norm(RAMP[i]!))).toBeLessThan(1e-6);
  });

  it('decodes a 16-bit grey PNG to the same 8-bit levels', async () => {
    const deep = Uint16Array.from(RAMP, (v) => v * 257);
    const png16 = await sharp(deep, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const out = await decode(png16);
    for (let i = 0; i < 784; i++) expect(Math.abs(out[i]! - norm(RAMP[i]!))).toBeLessThan(1e-6);
  });

  it.each([
    ['JPEG', (img: sharp.Sharp) => img.jpeg({ quality: 95 })],
    ['WebP (lossy)', (img: sharp.Sharp) => img.webp({ quality: 95 })],
  ])('decodes a %s to its decoded pixels exactly, and close to the source image', async (_, encode) => {
    const bytes = await encode(grey(SMOOTH)).toBuffer();
    const out = await decode(bytes);
    // What the codec actually stored, read back independently of the preprocessor.
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([28, 28]);
    const stored = Array.from({ length: 784 }, (_, i) => data[i * info.channels]!);
    expect(maxAbsDiff(out, stored.map(norm))).toBeLessThan(1e-6);
    // And the lossy codec kept the smooth ramp within a few grey levels.
    expect(maxAbsDiff(out, Array.from(SMOOTH, norm))).toBeLessThan(6 * LEVEL);
  });

  it('turns neutral RGB greys (r = g = b) into the same grey level', async () => {
    // Every 8-bit level, three channels equal: any luma weights summing to 1 give v back.
    const rgb = Buffer.alloc(784 * 3);
    for (let i = 0; i < 784; i++) rgb.fill(RAMP[i]!, i * 3, i * 3 + 3);
    const out = await decode(await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).png().toBuffer());
    expect(maxAbsDiff(out, Array.from(RAMP, norm))).toBeLessThan(1e-6);
  });

  it('ignores a fully opaque alpha channel', async () => {
    const rgba = Buffer.alloc(784 * 4);
    for (let i = 0; i < 784; i++) rgba.set([RAMP[i]!, RAMP[i]!, RAMP[i]!, 255], i * 4);
    const out = await decode(await sharp(rgba, { raw: { width: 28, height: 28, channels: 4 } }).png().toBuffer());
    expect(maxAbsDiff(out, Array.from(RAMP, norm))).toBeLessThan(1e-6);
  });

  // The manifest says "gray": "bt601" (README: L = 0.299 R + 0.587 G + 0.114 B, rounded, as
  // PIL's convert("L") that trained the model), not sharp's linear-light luminance.
  it.each([
    ['red', { r: 255, g: 0, b: 0 }, 76],
    ['green', { r: 0, g: 255, b: 0 }, 150],
    ['blue', { r: 0, g: 0, b: 255 }, 29],
    ['rgb(10, 200, 30)', { r: 10, g: 200, b: 30 }, 124],
  ])(
    'converts %s to its BT.601 luma',
    async (_, rgb, luma) => {
      const out = await decode(await solid(28, 28, rgb).png().toBuffer());
      expect(maxAbsDiff(out, new Array(784).fill(norm(luma)))).toBeLessThan(1e-6);
    },
  );

  // README: "Alpha is ignored": dropped, not composited over the background.
  it.each([0, 0.5])(
    'ignores alpha (a grey-200 PNG with alpha %s stays 200)',
    async (alpha) => {
      const out = await decode(await solid(28, 28, { r: 200, g: 200, b: 200 }, alpha).png().toBuffer());
      expect(maxAbsDiff(out, new Array(784).fill(norm(200)))).toBeLessThanOrEqual(LEVEL);
    },
  );
});

describe('contain-resize', () => {
  it('fits a 56x40 RGB frame into 28x20, centred, and pads 4 rows above and below with background 0', async () => {
    // Top half white, bottom half black: a "fill" resize would stretch the white band over
    // rows 0-13; "contain" keeps the aspect ratio, so the frame lands on rows 4-23
    // (scale 0.5), white on rows 4-13 and black on rows 14-23.
    const pixels = Buffer.alloc(56 * 40 * 3);
    pixels.fill(255, 0, 56 * 20 * 3);
    const out = await decode(await sharp(pixels, { raw: { width: 56, height: 40, channels: 3 } }).png().toBuffer());
    for (const y of [0, 1, 2, 3, 24, 25, 26, 27]) expect(maxAbsDiff(rowOf(out, y), new Array(28).fill(BG))).toBeLessThan(1e-6);
    for (let y = 4; y <= 12; y++) expect(maxAbsDiff(rowOf(out, y), new Array(28).fill(norm(255)))).toBeLessThan(1e-6);
    for (let y = 15; y <= 23; y++) expect(maxAbsDiff(rowOf(out, y), new Array(28).fill(norm(0)))).toBeLessThan(1e-6);
    // The edge between the halves is blended by the bilinear filter, between black and white.
    for (const x of [...rowOf(out, 13), ...rowOf(out, 14)]) {
      expect(x).toBeGreaterThanOrEqual(BG - 1e-6);
      expect(x).toBeLessThanOrEqual(norm(255) + 1e-6);
    }
  });

  it.each([
    // [width, height, rows or columns covered] following README's geometry:
    // s = min(28/W, 28/H); size = round-half-up(side·s); offset = floor((28 − size)/2).
    ['60x40 (19 rows: 4 above, 5 below)', 60, 40, 'rows', 4, 19],
    ['100x10 (3 rows at 12-14)', 100, 10, 'rows', 12, 3],
    ['40x56 (20 columns: 4 left, 4 right)', 40, 56, 'cols', 4, 20],
  ] as const)('places a white %s frame as the README geometry says', async (_, w, h, axis, offset, size) => {
    const out = await decode(await solid(w, h, { r: 255, g: 255, b: 255 }).png().toBuffer());
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const pos = axis === 'rows' ? y : x;
        const inside = pos >= offset && pos < offset + size;
        expect(Math.abs(out[y * 28 + x]! - (inside ? norm(255) : BG)), `pixel (${x}, ${y})`).toBeLessThan(1e-6);
      }
    }
  });
});

describe('limits and broken frames', () => {
  it('refuses a frame over maxBytes with reason too-large, and accepts one of exactly maxBytes', async () => {
    const png = await grey(RAMP).png().toBuffer();
    const tight = new Preprocessor(pkg.manifest, { maxBytes: png.length - 1, maxPixels: LIMITS.maxPixels });
    const err = await frameError(png, tight);
    expect(err.reason).toBe('too-large');
    expect(err.code).toBe(ErrorCodes.BAD_FRAME);
    expect(err).toBeInstanceOf(GaiaError);
    expect(err.message).toContain(String(png.length));
    expect(err.message).toContain(String(png.length - 1));
    const exact = new Preprocessor(pkg.manifest, { maxBytes: png.length, maxPixels: LIMITS.maxPixels });
    await expect(decode(png, exact)).resolves.toHaveLength(784);
  });

  it('refuses a decompression bomb (5000x5000 solid PNG, a few kB) with reason too-many-pixels', async () => {
    const bomb = await solid(5000, 5000, { r: 0, g: 0, b: 0 }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(LIMITS.maxBytes); // passes the byte limit: only the pixel limit can catch it
    const err = await frameError(bomb);
    expect(err.reason).toBe('too-many-pixels');
    expect(err.code).toBe(ErrorCodes.BAD_FRAME);
    expect(err.message).toContain('1000000');
  });

  it('accepts a frame of exactly maxPixels and refuses one pixel fewer allowed', async () => {
    const png = await solid(56, 40, { r: 255, g: 255, b: 255 }).png().toBuffer();
    await expect(decode(png, new Preprocessor(pkg.manifest, { maxBytes: LIMITS.maxBytes, maxPixels: 56 * 40 }))).resolves.toHaveLength(784);
    const err = await frameError(png, new Preprocessor(pkg.manifest, { maxBytes: LIMITS.maxBytes, maxPixels: 56 * 40 - 1 }));
    expect(err.reason).toBe('too-many-pixels');
  });

  // A JPEG truncated to half decodes with its errors ignored: it is `damaged`, not undecodable (test/frames/damaged.test.ts).
  it('refuses a JPEG truncated to half with reason damaged', async () => {
    const jpeg = await grey(SMOOTH).resize(280, 280).jpeg({ quality: 90 }).toBuffer();
    const err = await frameError(jpeg.subarray(0, jpeg.length >> 1));
    expect(err.reason satisfies FrameErrorReason).toBe('damaged');
    expect(err.code).toBe(ErrorCodes.BAD_FRAME);
  });

  const undecodable: Array<[string, () => Promise<Uint8Array>]> = [
    ['a PNG truncated to half', async () => {
      const png = await grey(RAMP).png().toBuffer();
      return png.subarray(0, png.length >> 1);
    }],
    ['random bytes', async () => Uint8Array.from({ length: 600 }, (_, i) => (i * 7919 + 13) & 0xff)],
    ['random bytes behind a JPEG signature', async () => Uint8Array.from({ length: 600 }, (_, i) => (i < 3 ? [0xff, 0xd8, 0xff][i]! : (i * 131 + 7) & 0xff))],
    ['an empty buffer', async () => new Uint8Array(0)],
  ];
  it.each(undecodable)('refuses %s with reason undecodable', async (_, make) => {
    const err = await frameError(await make());
    expect(err.reason satisfies FrameErrorReason).toBe('undecodable');
    expect(err.code).toBe(ErrorCodes.BAD_FRAME);
    // Bytes with no image signature never reach libvips (nothing to cause); the rest carry its error.
    expect(err.cause !== undefined || /not in an image format/.test(err.message)).toBe(true);
  });
});

describe('the bundled samples', () => {
  it('decode to exactly the pixel values stored in each PNG, normalised', async () => {
    let count = 0;
    for (const set of ['id', 'ood']) {
      const folder = join(PKG_DIR, 'samples', set);
      for (const name of readdirSync(folder).filter((n) => n.endsWith('.png'))) {
        const bytes = readFileSync(join(folder, name));
        const meta = await sharp(bytes).metadata();
        expect([meta.format, meta.width, meta.height, meta.channels, meta.depth], name).toEqual(['png', 28, 28, 1, 'uchar']);
        // The stored grey levels, read back with sharp (raw output is sRGB: take channel 0).
        const { data, info } = await sharp(bytes).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
        expect(info.channels).toBe(1);
        const out = await decode(bytes);
        expect(maxAbsDiff(out, Array.from(data, norm)), name).toBeLessThan(1e-6);
        count++;
      }
    }
    expect(count).toBe(1024);
  });
});

describe('validateManifest', () => {
  const raw = (): Record<string, any> => JSON.parse(readFileSync(join(PKG_DIR, 'manifest.json'), 'utf8'));
  const PATH = 'models/test/manifest.json';

  function manifestError(edit: (m: Record<string, any>) => void): GaiaError {
    const m = raw();
    edit(m);
    try {
      validateManifest(m, PATH);
    } catch (err) {
      expect(err).toBeInstanceOf(GaiaError);
      expect((err as GaiaError).code).toBe(ErrorCodes.BAD_CONFIG);
      expect((err as GaiaError).message).toContain(PATH);
      return err as GaiaError;
    }
    throw new Error('expected validateManifest to throw');
  }

  it('accepts the bundled manifest unchanged', () => {
    const m: ModelManifest = validateManifest(raw(), PATH);
    expect(m.name).toBe('fmnist-cnn');
    expect(m.input.scale).toBeCloseTo(1 / 255, 15);
  });

  it('fills in bilinear, background 0 and scale 1/255 when they are left out', () => {
    const m = raw();
    delete m.input.resize.interpolation;
    delete m.input.resize.background;
    delete m.input.scale;
    const v = validateManifest(m, PATH);
    expect(v.input.resize.interpolation).toBe('bilinear');
    expect(v.input.resize.background).toBe(0);
    expect(v.input.scale).toBe(1 / 255);
  });

  it.each<[string, (m: Record<string, any>) => void, string]>([
    ['a missing mean', (m) => delete m.input.mean, '"input.mean"'],
    ['a mean with one value per wrong channel count', (m) => (m.input.mean = [0.1, 0.2, 0.3]), '"input.mean"'],
    ['a std containing 0', (m) => (m.input.std = [0]), '"input.std"'],
    ['a std that is not a number', (m) => (m.input.std = ['0.353']), '"input.std"'],
    ['rgb channels on a 1-channel shape', (m) => (m.input.channels = 'rgb'), '"input.channels"'],
    ['a 3-channel shape for gray channels', (m) => (m.input.shape = [null, 3, 28, 28]), '"input.channels"'],
    ['an unknown channels value', (m) => (m.input.channels = 'cmyk'), '"input.channels"'],
    ['a 3-D shape', (m) => (m.input.shape = [1, 28, 28]), '"input.shape"'],
    ['a zero height', (m) => (m.input.shape = [null, 1, 0, 28]), '"input.shape"'],
    ['a resize box that differs from the shape', (m) => (m.input.resize.width = 32), '"input.resize"'],
    ['an unknown resize mode', (m) => (m.input.resize.mode = 'stretch'), '"input.resize.mode"'],
    ['an unknown interpolation', (m) => (m.input.resize.interpolation = 'lanczos3'), '"input.resize.interpolation"'],
    ['a missing input name', (m) => delete m.input.name, '"input.name"'],
    ['a missing model name', (m) => delete m.name, '"name"'],
    ['labels that are not strings', (m) => (m.labels = [0, 1]), '"labels"'],
  ])('refuses %s with GAIA_BAD_CONFIG naming the field', (_, edit, field) => {
    expect(manifestError(edit).message).toContain(field);
  });

  it('loadModelPackage refuses a folder without a manifest, naming the path', async () => {
    const missing = join(ROOT, 'models', 'no-such-model');
    await expect(loadModelPackage(missing)).rejects.toMatchObject({ code: ErrorCodes.BAD_CONFIG, message: expect.stringContaining(join(missing, 'manifest.json')) });
  });
});
