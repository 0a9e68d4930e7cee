/**
 * The frozen-frame check's block digest (src/frames/block-digest.ts) and what it decides
 * (src/detect/camera-health.ts): on real 1080p JPEGs through the agent's decode stage, a live
 * camera on a still scene (fresh sensor noise, σ ≈ 2 grey levels) is never the same picture
 * twice, while a re-sent JPEG and a frozen picture under a burned-in clock always are, for a
 * 28×28 grey model and a 224×224 RGB one. Before the digest, the hash and sharpness called
 * 30 of 30 still-scene pairs of opencv-doc's building the same picture
 * (`node dist/bench/frozen-separation.js`).
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { InputMeasure, InputStats } from '../../src/contracts/input-stats.js';
import { DEFAULT_FROZEN, FrozenFrameMonitor, identicalShare } from '../../src/detect/camera-health.js';
import { blockDigest } from '../../src/frames/block-digest.js';
import { decodeMeasured } from '../../src/frames/frame-decoder.js';
import { Preprocessor } from '../../src/frames/preprocess.js';
import { loadModelPackage, type ModelManifest } from '../../src/model/manifest.js';
import { hasCameraPhotos, OPENCV_DATA } from '../helpers/camera-fault-frames.js';

describe('blockDigest', () => {
  it('sums each block of the middle channel and marks the blocks with texture', () => {
    const [c, h, w] = [3, 8, 8];
    const t = new Float32Array(c * h * w);
    // Middle channel: the top-left 4×4 block is 1 everywhere (flat), the top-right a ramp.
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) t[h * w + y * w + x] = x < 4 ? 1 : x;
    t[0] = 100; // the first channel is not read
    const d = blockDigest(t, c, h, w)!;
    expect(Array.from(d.sums)).toEqual([16, 4 * (4 + 5 + 6 + 7), 0, 0]);
    expect(Array.from(d.textured)).toEqual([0, 1, 0, 0]);
    expect(blockDigest(t, c, h, w + 1)).toBeUndefined();
  });

  it('compares only informative blocks: textured in either frame, or changed', () => {
    const a = { sums: Float64Array.from([1, 2, 3, 4]), textured: Uint8Array.from([0, 1, 1, 1]) };
    expect(identicalShare(a, a)).toBe(1);
    expect(identicalShare(a, { ...a, sums: Float64Array.from([1, 2, 3, 5]) })).toBeCloseTo(2 / 3);
    expect(identicalShare(a, { ...a, sums: Float64Array.from([9, 2, 3, 4]) })).toBe(3 / 4);
    const flat = { sums: Float64Array.from([1, 1]), textured: Uint8Array.from([0, 0]) };
    expect(identicalShare(flat, flat)).toBe(1);
    expect(identicalShare(flat, a)).toBeUndefined();
  });
});

/** A torchvision-style RGB classifier's input: 224×224 cover, ImageNet normalisation. */
const RGB_224: ModelManifest['input'] = {
  name: 'input',
  shape: [null, 3, 224, 224],
  channels: 'rgb',
  resize: { mode: 'cover', width: 224, height: 224, interpolation: 'bilinear', background: 0 },
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

describe.skipIf(!hasCameraPhotos())('the frozen-frame check at 1080p (opencv-doc building, through the decode stage)', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;

  async function frames(n: number, edit: (px: Buffer, k: number) => void): Promise<Buffer[]> {
    const base = await sharp(join(OPENCV_DATA, 'building.jpg')).resize(1920, 1080, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const out: Buffer[] = [];
    for (let k = 0; k < n; k++) {
      const px = Buffer.from(base);
      edit(px, k);
      out.push(await sharp(px, { raw: { width: 1920, height: 1080, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
    }
    return out;
  }
  const noise = (px: Buffer) => {
    for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, px[i]! + Math.round(4 * (random() + random() + random() - 1.5))));
  };
  const clock = (px: Buffer, k: number) => {
    for (let y = 8; y < 56; y++) for (let x = 8; x < 248; x++) px.fill(((x >> 4) + k) % 2 ? 255 : 0, (y * 1920 + x) * 3, (y * 1920 + x) * 3 + 3);
  };

  /** Consecutive pairs judged the same picture. */
  async function samePairs(pre: Preprocessor, list: readonly Buffer[], measure: InputMeasure): Promise<number> {
    const monitor = new FrozenFrameMonitor({ ...DEFAULT_FROZEN, frames: 2 });
    const tensor = new Float32Array(pre.elementsPerFrame);
    let same = 0;
    for (const f of list) {
      const input: InputStats = (await decodeMeasured(pre, f, { 'content-type': 'image/jpeg' }, tensor, measure)).input;
      expect(input.blocks).toBeDefined();
      monitor.observe('cam', input);
      if (monitor.isFrozen('cam')) same++;
    }
    return same;
  }

  it('tells a live still scene from a re-sent picture and from a frozen one under a clock', async () => {
    const live = await frames(9, (px) => noise(px));
    const resent = Array.from({ length: 9 }, () => live[0]!);
    const clocked = await frames(9, clock);
    const grey = (await loadModelPackage('models/fmnist-cnn')).manifest;
    const rgb = { ...grey, input: RGB_224 } as ModelManifest;
    for (const manifest of [grey, rgb]) {
      const pre = new Preprocessor(manifest, { maxBytes: 1 << 24, maxPixels: 1 << 26 });
      for (const measure of ['full', 'frozen'] as const) {
        const label = `${manifest.input.channels} ${manifest.input.shape.join('x')} ${measure}`;
        expect(await samePairs(pre, live, measure), label).toBe(0);
        expect(await samePairs(pre, resent, measure), label).toBe(8);
        expect(await samePairs(pre, clocked, measure), label).toBe(8);
      }
    }
  }, 120_000);
});
