/**
 * Frames of one fixed camera, made here (no data files): one scene under changing light, its
 * boxes moving a little, sensor noise; and the frames a camera sends when something is wrong.
 * Used with the RGB fixture model (test/fixtures/camera-model) by the YOUR-MODEL walkthrough
 * (test/cli/your-model.test.ts) and the container test (test/deploy/image.test.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../src/detect/calibration.js';

export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

/** What the walkthrough sends: 1920x1080 JPEGs. */
export const FULL_HD: FrameSize = { width: 1920, height: 1080 };

/** One camera's frame: the scene with its boxes moved a little, under this frame's light, with noise. */
export async function cameraFrame(random: () => number, size: FrameSize = FULL_HD): Promise<Buffer> {
  const [w, h] = [64, 36];
  const px = Buffer.alloc(w * h * 3);
  const light = 0.8 + 0.4 * random();
  const boxes = [0, 1, 2, 3].map((i) => ({ x: 6 + i * 14 + Math.round(4 * random()), y: 16 + Math.round(6 * random()), w: 8 + Math.round(3 * random()), h: 8, c: [150 + 20 * i, 90, 60 + 30 * i] }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sky = y < 14;
      let c = sky ? [120 + 3 * y, 150 + 3 * y, 210] : [90, 85 - y, 70];
      for (const b of boxes) if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) c = b.c;
      for (let k = 0; k < 3; k++) px[3 * (y * w + x) + k] = Math.max(0, Math.min(255, Math.round(c[k]! * light + 16 * (random() - 0.5))));
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).resize(size.width, size.height, { kernel: 'cubic' }).jpeg({ quality: 85 }).toBuffer();
}

/** Frames a camera sends when something is wrong: a lens cap, a blinded sensor, static, a broken link. */
export async function badFrame(i: number, random: () => number, size: FrameSize = FULL_HD): Promise<Buffer> {
  const [w, h] = [64, 36];
  const px = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) {
    for (let k = 0; k < 3; k++) {
      const v = [8 * random(), 240 + 15 * random(), 255 * random(), ((p % w) >> 2) % 2 ? 255 : 0][i % 4]!;
      px[3 * p + k] = Math.round(v);
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).resize(size.width, size.height, { kernel: 'nearest' }).jpeg({ quality: 85 }).toBuffer();
}

/** `count` frames from `make`, seeded, as frame-00000.jpg … in `dir`. */
export async function writeFrames(dir: string, count: number, seed: number, make: (i: number, random: () => number) => Promise<Buffer>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const random = mulberry32(seed);
  for (let i = 0; i < count; i++) await sharp(await make(i, random)).toFile(join(dir, `frame-${String(i).padStart(5, '0')}.jpg`));
}
