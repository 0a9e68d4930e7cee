/**
 * The libvips-free path for frames at the model's size must give exactly what sharp gives:
 * every check here compares the direct path with the sharp path (Preprocessor with
 * `direct: false`) bit for bit, on the bundled samples and on generated images of every
 * PNG colour type, and the colour conversion on all 2^24 RGB triples.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelPackage, type ModelManifest } from '../../src/model/manifest.js';
import { decodePngAtSize } from '../../src/frames/png-direct.js';
import { FrameError, Preprocessor } from '../../src/frames/preprocess.js';
import { mulberry32 } from '../../src/detect/calibration.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMITS = { maxBytes: 1 << 26, maxPixels: 1 << 25 };

let grey: ModelManifest;
/** The same model contract, but an RGB input with per-channel statistics. */
let rgb: ModelManifest;
beforeAll(async () => {
  grey = (await loadModelPackage(join(ROOT, 'models', 'fmnist-cnn'))).manifest;
  rgb = { ...grey, input: { ...grey.input, shape: [null, 3, 28, 28], channels: 'rgb', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };
});

async function both(manifest: ModelManifest, bytes: Uint8Array): Promise<[Float32Array, Float32Array]> {
  const direct = new Preprocessor(manifest, LIMITS);
  const viaSharp = new Preprocessor(manifest, LIMITS, { direct: false });
  const a = new Float32Array(direct.elementsPerFrame);
  const b = new Float32Array(viaSharp.elementsPerFrame);
  await direct.decodeInto(bytes, a);
  await viaSharp.decodeInto(bytes, b);
  return [a, b];
}

function randomPixels(n: number, seed: number): Buffer {
  const rand = mulberry32(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
}

/** A PNG chunk: length, type, data, CRC of type and data. */
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * An 8-bit PNG written here, row y filtered with filters[y % filters.length] (0 None,
 * 1 Sub, 2 Up, 3 Average, 4 Paeth), so every filter the decoder must undo is exercised
 * (sharp's encoder picks its own).
 */
function encodePng(pixels: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4, filters: readonly number[]): Buffer {
  const stride = width * channels;
  const rows: Buffer[] = [];
  const at = (y: number, x: number) => (y < 0 || x < 0 ? 0 : pixels[y * stride + x]!);
  for (let y = 0; y < height; y++) {
    const filter = filters[y % filters.length]!;
    const row = Buffer.alloc(stride + 1);
    row[0] = filter;
    for (let x = 0; x < stride; x++) {
      const [v, a, b, c] = [at(y, x), at(y, x - channels), at(y - 1, x), at(y - 1, x - channels)];
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter]!;
      row[x + 1] = (v - predicted) & 0xff;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, { 1: 0, 2: 4, 3: 2, 4: 6 }[channels], 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // The image data split over two IDAT chunks, as encoders may do.
  const z = deflateSync(Buffer.concat(rows));
  const half = z.length >> 1;
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', z.subarray(0, half)), chunk('IDAT', z.subarray(half)), chunk('IEND', Buffer.alloc(0))]);
}

describe('decodePngAtSize', () => {
  it('decodes the bundled sample frames (28x28 grey PNGs) directly', () => {
    for (const model of ['fmnist-cnn', 'fmnist-resnet18']) {
      const dir = join(ROOT, 'models', model, 'samples', 'id');
      const first = readFileSync(join(dir, readdirSync(dir).sort()[0]!));
      expect(decodePngAtSize(first, 28, 28)).toMatchObject({ channels: 1 });
    }
  });

  it.each([0, 1, 2, 3, 4])('undoes PNG filter type %i on every row, for every colour type', async (filter) => {
    for (const channels of [1, 2, 3, 4] as const) {
      const pixels = randomPixels(28 * 28 * channels, filter * 10 + channels);
      const png = encodePng(pixels, 28, 28, channels, [filter]);
      expect(Buffer.from(decodePngAtSize(png, 28, 28)!.data)).toEqual(pixels);
      // And the model input equals sharp's reading of the same file.
      for (const manifest of [grey, rgb]) {
        const [a, b] = await both(manifest, png);
        expect(a).toEqual(b);
      }
    }
  });

  it('decodes like sharp when ancillary chunks are present (gAMA, cHRM, sRGB, tRNS, tEXt)', async () => {
    // libvips ignores gamma and chromaticity chunks and drops a tRNS-made alpha (alpha is ignored).
    const gama = Buffer.alloc(4);
    gama.writeUInt32BE(100_000); // gamma 1.0: would brighten everything if applied
    const chrm = Buffer.alloc(32);
    [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000].forEach((v, i) => chrm.writeUInt32BE(v, i * 4));
    const trnsGrey = Buffer.from([0, 0]); // grey level 0 transparent
    for (const channels of [1, 3] as const) {
      const pixels = randomPixels(28 * 28 * channels, 40 + channels);
      const plain = encodePng(pixels, 28, 28, channels, [4]);
      const extra = [
        chunk('gAMA', gama),
        chunk('cHRM', chrm),
        chunk('sRGB', Buffer.from([0])),
        chunk('tEXt', Buffer.from('Comment\0a camera frame', 'latin1')),
        ...(channels === 1 ? [chunk('tRNS', trnsGrey)] : [chunk('tRNS', Buffer.from([0, 0, 0, 0, 0, 0]))]),
      ];
      const png = Buffer.concat([plain.subarray(0, 33), ...extra, plain.subarray(33)]); // after IHDR
      expect(Buffer.from(decodePngAtSize(png, 28, 28)!.data)).toEqual(pixels);
      for (const manifest of [grey, rgb]) {
        const [a, b] = await both(manifest, png);
        expect(a).toEqual(b);
      }
    }
  });

  it('undoes mixed filters row by row on a smooth image (where the predictors matter)', () => {
    const pixels = Buffer.from(Array.from({ length: 28 * 28 * 3 }, (_, i) => (i * 7 + Math.floor(i / 84) * 13) & 0xff));
    expect(Buffer.from(decodePngAtSize(encodePng(pixels, 28, 28, 3, [4, 3, 0, 1, 2, 4, 4, 3]), 28, 28)!.data)).toEqual(pixels);
  });

  it('leaves to sharp what it does not cover exactly: other sizes, 16-bit, palette, interlaced, ICC profiles, corrupt files', async () => {
    const pixels = randomPixels(28 * 28 * 3, 1);
    const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 3 } }).png().toBuffer();
    expect(decodePngAtSize(png, 28, 28)).toBeDefined();
    expect(decodePngAtSize(png, 32, 28)).toBeUndefined();
    const deep = await sharp(Uint16Array.from(pixels.subarray(0, 784), (v) => v * 257), { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect(decodePngAtSize(deep, 28, 28)).toBeUndefined();
    expect(decodePngAtSize(await sharp(pixels, { raw: { width: 28, height: 28, channels: 3 } }).png({ palette: true }).toBuffer(), 28, 28)).toBeUndefined();
    expect(decodePngAtSize(await sharp(png).withIccProfile('p3').png().toBuffer(), 28, 28)).toBeUndefined();
    expect(decodePngAtSize(await sharp(png).png({ progressive: true }).toBuffer(), 28, 28)).toBeUndefined();
    expect(decodePngAtSize(png.subarray(0, png.length - 20), 28, 28)).toBeUndefined();
    const flipped = Buffer.from(png);
    flipped[60] = flipped[60]! ^ 0xff; // inside IDAT: the chunk's CRC no longer matches
    expect(decodePngAtSize(flipped, 28, 28)).toBeUndefined();
    const plain = encodePng(pixels, 28, 28, 3, [0]);
    expect(decodePngAtSize(plain, 28, 28)).toBeDefined();
    expect(decodePngAtSize(encodePng(pixels, 28, 28, 3, [0, 5]), 28, 28)).toBeUndefined(); // no filter type 5
    // A bomb: a 28x28 header over image data that inflates far beyond 28 rows.
    const bomb = Buffer.concat([plain.subarray(0, 33), chunk('IDAT', deflateSync(Buffer.alloc(50_000_000))), chunk('IEND', Buffer.alloc(0))]);
    expect(decodePngAtSize(bomb, 28, 28)).toBeUndefined();
    expect(decodePngAtSize(Buffer.from('not a png at all, but long enough to have a header'), 28, 28)).toBeUndefined();
  });
});

describe('the direct path equals the sharp path', () => {
  it('on every bundled sample frame (1024 PNGs), bit for bit', async () => {
    for (const model of ['fmnist-cnn', 'fmnist-resnet18']) {
      for (const kind of ['id', 'ood']) {
        const dir = join(ROOT, 'models', model, 'samples', kind);
        for (const name of readdirSync(dir).sort()) {
          const [a, b] = await both(grey, readFileSync(join(dir, name)));
          expect(a).toEqual(b);
        }
      }
    }
  });

  it.each([
    ['grey', 1],
    ['grey+alpha', 2],
    ['RGB', 3],
    ['RGBA', 4],
  ] as const)('on random %s PNGs, plain and interlaced, for grey and RGB models', async (_, channels) => {
    for (const progressive of [false, true]) {
      const pixels = randomPixels(28 * 28 * channels, channels * 10 + Number(progressive));
      const image = sharp(pixels, { raw: { width: 28, height: 28, channels } });
      // sharp writes raw 1- and 2-channel input as RGB(A) unless told the image is grey.
      const bytes = await (channels <= 2 ? image.toColourspace('b-w') : image).png({ progressive, adaptiveFiltering: true }).toBuffer();
      // Interlaced PNGs are left to sharp; plain ones are decoded directly.
      expect(decodePngAtSize(bytes, 28, 28)).toEqual(progressive ? undefined : expect.objectContaining({ channels }));
      for (const manifest of [grey, rgb]) {
        const [a, b] = await both(manifest, bytes);
        expect(a).toEqual(b);
      }
    }
  });

  it('on raw frames at the model size, for every channel count', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const pixels = randomPixels(28 * 28 * channels, 100 + channels);
      for (const manifest of [grey, rgb]) {
        const direct = new Preprocessor(manifest, LIMITS);
        const viaSharp = new Preprocessor(manifest, LIMITS, { direct: false });
        const a = new Float32Array(direct.elementsPerFrame);
        const b = new Float32Array(direct.elementsPerFrame);
        await direct.rawInto(pixels, { width: 28, height: 28, channels }, a);
        await viaSharp.rawInto(pixels, { width: 28, height: 28, channels }, b);
        expect(a).toEqual(b);
      }
    }
  });

  it('converts all 2^24 RGB triples to the same BT.601 grey level as sharp', async () => {
    // One 4096x4096 frame holding every (r, g, b) once, through a grey model of that size.
    const side = 4096;
    const manifest: ModelManifest = {
      ...grey,
      input: { ...grey.input, shape: [null, 1, side, side], resize: { ...grey.input.resize, width: side, height: side }, scale: 1, mean: [0], std: [1] },
    };
    const pixels = new Uint8Array(side * side * 3);
    for (let i = 0; i < side * side; i++) pixels.set([i >> 16, (i >> 8) & 255, i & 255], i * 3);
    const layout = { width: side, height: side, channels: 3 } as const;
    const direct = new Float32Array(side * side);
    const viaSharp = new Float32Array(side * side);
    await new Preprocessor(manifest, LIMITS).rawInto(pixels, layout, direct);
    await new Preprocessor(manifest, LIMITS, { direct: false }).rawInto(pixels, layout, viaSharp);
    let mismatches = 0;
    for (let i = 0; i < direct.length; i++) if (direct[i] !== viaSharp[i]) mismatches++;
    expect(mismatches).toBe(0);
  }, 60_000);

  it('never bypasses the pixel limit', async () => {
    const png = await sharp(randomPixels(784, 9), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const strict = new Preprocessor(grey, { maxBytes: 1 << 20, maxPixels: 500 });
    const error = await strict.decodeInto(png, new Float32Array(784)).catch((e: unknown) => e);
    expect((error as FrameError).reason).toBe('too-many-pixels');
  });

  it('still rejects a truncated PNG at the model size, with sharp\'s reason', async () => {
    const png = await sharp(randomPixels(784, 7), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const pre = new Preprocessor(grey, LIMITS);
    const error = await pre.decodeInto(png.subarray(0, png.length - 30), new Float32Array(784)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).reason).toBe('undecodable');
  });
});

describe('decodePngAtSize on non-consecutive IDAT chunks (issue #10, defect 8)', () => {
  it('does not accept what sharp rejects: a tEXt chunk between two IDAT chunks', async () => {
    const png = encodePng(randomPixels(28 * 28, 7), 28, 28, 1, [0]);
    // Split the file at its second IDAT and put a text chunk before it.
    const second = png.indexOf('IDAT', png.indexOf('IDAT') + 4) - 4;
    const split = Buffer.concat([png.subarray(0, second), chunk('tEXt', Buffer.from('Comment\0between IDATs', 'latin1')), png.subarray(second)]);
    expect(decodePngAtSize(split, 28, 28)).toBeUndefined();
    // The agent's answer is then sharp's, as without the direct path: libvips reads it only
    // ignoring the error, so it is damaged (dead-lettered by default).
    const pkg = await loadModelPackage(join(ROOT, 'models', 'fmnist-cnn'));
    const outcome = async (direct: boolean) =>
      new Preprocessor(pkg.manifest, { maxBytes: 1 << 20, maxPixels: 1 << 20 }, { direct })
        .decodeInto(split, new Float32Array(28 * 28))
        .then(() => 'decoded', (e: FrameError) => e.reason);
    expect(await outcome(false)).toBe('damaged');
    expect(await outcome(true)).toBe('damaged');
  });
});
