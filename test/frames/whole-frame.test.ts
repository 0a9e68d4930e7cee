/**
 * One decode for the model and the input statistics (src/frames/whole-frame.ts): the model's
 * tensor from decodeWhole (libvips' whole scaled frame, cut or padded here) must be the very
 * tensor decode makes (libvips' own crop or embed), bit for bit, for every resize policy the
 * plan covers and for frame sizes that round differently (odd sizes, portrait, enlarging,
 * 4:3, near-square); and the statistics from that whole frame must stay close to those of the
 * second decode they replace.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeMeasured } from '../../src/frames/frame-decoder.js';
import { measureEncoded, measureWhole } from '../../src/frames/measure-frame.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { wholeFramePlan } from '../../src/frames/whole-frame.js';
import { validateManifest, type ModelManifest, type ResizePolicy } from '../../src/model/manifest.js';

const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const PHOTOS = ['fruits.jpg', 'baboon.jpg', 'building.jpg', 'home.jpg'];
const SIZES: ReadonlyArray<readonly [number, number]> = [
  [1920, 1080], [1280, 720], [1080, 1920], [1366, 768], [800, 600], [640, 480], [333, 217], [2592, 1944], [300, 200], [160, 120], [226, 224], [257, 255],
];
const LIMITS = { maxBytes: 1 << 26, maxPixels: 1 << 26 };

function manifest(resize: Partial<ResizePolicy>, channels: 'rgb' | 'gray' = 'rgb'): ModelManifest {
  const c = channels === 'rgb' ? 3 : 1;
  return validateManifest(
    {
      name: 'whole-frame',
      input: {
        name: 'input', dtype: 'float32', shape: [null, c, 224, 224], layout: 'NCHW', channels,
        resize: { mode: 'cover', width: 224, height: 224, interpolation: 'bilinear', background: 0, ...resize },
        scale: 1 / 255, mean: Array(c).fill(0.5), std: Array(c).fill(0.25),
      },
      labels: ['a', 'b'],
    },
    'whole-frame test',
  );
}

const POLICIES: ReadonlyArray<readonly [string, Partial<ResizePolicy>]> = [
  ['cover bilinear', { mode: 'cover', interpolation: 'bilinear' }],
  ['cover bicubic', { mode: 'cover', interpolation: 'bicubic' }],
  ['contain, background 114', { mode: 'contain', interpolation: 'bilinear', background: 114 }],
  ['cover with crop 0.875 (torchvision)', { mode: 'cover', interpolation: 'bilinear', crop: 0.875 }],
  ['cover with crop 0.875, bicubic', { mode: 'cover', interpolation: 'bicubic', crop: 0.875 }],
];

let frames: Array<{ name: string; bytes: Buffer; width: number; height: number }> = [];
beforeAll(async () => {
  frames = [];
  for (const [i, [width, height]] of SIZES.entries()) {
    const photo = join(OPENCV, PHOTOS[i % PHOTOS.length]!);
    for (const quality of [85, 95]) {
      const bytes = await sharp(photo).resize(width, height, { fit: 'fill' }).jpeg({ quality, chromaSubsampling: quality > 90 ? '4:4:4' : '4:2:0' }).toBuffer();
      frames.push({ name: `${width}x${height} q${quality}`, bytes, width, height });
    }
  }
  const png = await sharp(join(OPENCV, 'fruits.jpg')).resize(700, 500, { fit: 'fill' }).png().toBuffer();
  frames.push({ name: '700x500 PNG', bytes: png, width: 700, height: 500 });
});

describe('decodeWhole', () => {
  for (const [name, resize] of POLICIES) {
    it(`gives the model the tensor decode gives it, bit for bit: ${name}`, async () => {
      const pre = new Preprocessor(manifest(resize), LIMITS);
      const a = new Float32Array(pre.elementsPerFrame);
      const b = new Float32Array(pre.elementsPerFrame);
      let served = 0;
      for (const f of frames) {
        await pre.decodeInto(f.bytes, a);
        b.fill(Number.NaN);
        const { whole } = await pre.decodeWhole(f.bytes, b);
        expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), f.name).toBe(true);
        if (whole) {
          served++;
          expect([whole.sourceWidth, whole.sourceHeight, whole.channels]).toEqual([f.width, f.height, 3]);
        }
      }
      // Every frame the model's resize reduces, except the near-square ones, is served by one decode.
      expect(served).toBeGreaterThanOrEqual(frames.filter((f) => f.width >= 640).length);
    });
  }

  it('keeps libvips resizing where it must: grey models, fill, nearest crops, near-square frames', () => {
    const rgb = manifest({ mode: 'cover' }).input;
    expect(wholeFramePlan(rgb, 'jpeg', 1920, 1080)?.resize).toEqual({ height: 224 });
    expect(wholeFramePlan(rgb, 'jpeg', 1080, 1920)?.resize).toEqual({ width: 224 });
    expect(wholeFramePlan(manifest({ mode: 'contain' }).input, 'jpeg', 1920, 1080)?.resize).toEqual({ width: 224 });
    expect(wholeFramePlan(manifest({ mode: 'cover' }, 'gray').input, 'jpeg', 1920, 1080)).toBeUndefined();
    expect(wholeFramePlan(manifest({ mode: 'fill' }).input, 'jpeg', 1920, 1080)).toBeUndefined();
    expect(wholeFramePlan(manifest({ mode: 'cover', crop: 0.875, interpolation: 'nearest' }).input, 'jpeg', 1920, 1080)).toBeUndefined();
    expect(wholeFramePlan(rgb, 'jpeg', 1000, 999)).toBeUndefined();
  });
});

describe('input statistics from the whole frame', () => {
  // Measured on 24 photographs at 8 sizes (docs/BENCHMARKS.md, issue #24 third pass): sharpness
  // within -5..+3 % at the median, -14 % at worst; the other heads within 1.3 %. The spectrum's
  // detail and octave move less than sharpness (node dist/bench/stats-copies.js).
  for (const [name, resize] of POLICIES) {
    it(`stay within a few percent of the second decode they replace: ${name}`, async () => {
      const pre = new Preprocessor(manifest(resize), LIMITS);
      const out = new Float32Array(pre.elementsPerFrame);
      const spectral: Record<'input_sharpness' | 'input_detail' | 'input_octave', number[]> = { input_sharpness: [], input_detail: [], input_octave: [] };
      for (const f of frames.filter((x) => x.width >= 640 && x.height >= 480)) {
        const { whole } = await pre.decodeWhole(f.bytes, out);
        const one = measureWhole(whole!, f.bytes.byteLength)!;
        const two = await measureEncoded(f.bytes);
        expect(one.values.input_complexity).toBe(two.values.input_complexity);
        expect(Math.abs(one.values.input_exposure - two.values.input_exposure), f.name).toBeLessThan(0.005);
        expect(Math.abs(one.values.input_contrast / two.values.input_contrast - 1), f.name).toBeLessThan(0.02);
        expect(Math.abs(one.values.input_colourfulness / two.values.input_colourfulness - 1), f.name).toBeLessThan(0.02);
        expect(Math.abs(one.values.input_flat - two.values.input_flat), f.name).toBeLessThan(0.05);
        for (const [h, d] of Object.entries(spectral)) d.push(one.values[h as keyof typeof spectral] / two.values[h as keyof typeof spectral] - 1);
      }
      for (const [h, d] of Object.entries(spectral)) {
        d.sort((x, y) => x - y);
        expect(Math.abs(d[d.length >> 1]!), h).toBeLessThan(0.06);
        expect(Math.max(...d.map(Math.abs)), h).toBeLessThan(0.2);
      }
    });
  }

  it('come from the one decode in decodeMeasured, and from a second decode where there is no whole frame', async () => {
    const pre = new Preprocessor(manifest({ mode: 'cover' }), LIMITS);
    const out = new Float32Array(pre.elementsPerFrame);
    const camera = frames.find((f) => f.name === '1920x1080 q85')!;
    const { whole } = await pre.decodeWhole(camera.bytes, out);
    // Beside the statistics, the frozen check's block digest of the model's tensor (block-digest.test.ts).
    const statistics = async (p: Preprocessor, bytes: Uint8Array, into: Float32Array) => {
      const { blocks, ...rest } = (await decodeMeasured(p, bytes, { 'content-type': 'image/jpeg' }, into, 'full')).input;
      expect(blocks).toBeDefined();
      return rest;
    };
    expect(await statistics(pre, camera.bytes, out)).toEqual(measureWhole(whole!, camera.bytes.byteLength));
    const small = frames.find((f) => f.name === '160x120 q85')!; // no larger than the measured copy: measured as it is
    expect(await statistics(pre, small.bytes, out)).toEqual(await measureEncoded(small.bytes));
    const grey = new Preprocessor(manifest({ mode: 'cover' }, 'gray'), LIMITS);
    const greyOut = new Float32Array(grey.elementsPerFrame);
    expect(await statistics(grey, camera.bytes, greyOut)).toEqual(await measureEncoded(camera.bytes));
  });
});
