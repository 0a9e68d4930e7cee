/**
 * CPU cost of turning one frame into model input, per path:
 *
 *   npm run build && node dist/bench/decode.js [--model models/fmnist-resnet18] [--frames 4000]
 *
 * - bundled 28x28 PNG, direct (png-direct.ts: zlib + unfilter, no libvips)
 * - the same PNG through sharp (what every frame cost before the direct path)
 * - raw 28x28 grey pixels, direct
 * - a 640x480 camera-like JPEG, resized by sharp (the direct path never applies)
 *
 * One frame at a time, then `--concurrency` at once (sharp runs on libuv's thread pool).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadModelPackage } from '../src/model/manifest.js';
import { Preprocessor } from '../src/frames/preprocess.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18' },
    frames: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const N = Number(values.frames);
const pkg = await loadModelPackage(values.model!);
const limits = { maxBytes: 1 << 24, maxPixels: 1 << 26 };
const direct = new Preprocessor(pkg.manifest, limits);
const viaSharp = new Preprocessor(pkg.manifest, limits, { direct: false });
const dir = join(values.model!, 'samples', 'id');
const pngs = readdirSync(dir)
  .sort()
  .map((n) => readFileSync(join(dir, n)));
const raws = await Promise.all(pngs.map((p) => sharp(p).extractChannel(0).raw().toBuffer()));
const jpeg = await sharp(pngs[0]!).resize(640, 480, { fit: 'fill' }).toColourspace('srgb').jpeg({ quality: 85 }).toBuffer();

async function measure(decode: (i: number, out: Float32Array) => Promise<void>, concurrency: number): Promise<{ us: number; fps: number }> {
  const out = new Float32Array(direct.elementsPerFrame);
  for (let i = 0; i < 200; i++) await decode(i, out); // warm-up
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const mine = new Float32Array(direct.elementsPerFrame);
      while (next < N) await decode(next++, mine);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { us: (cpu.user + cpu.system) / N, fps: N / ((performance.now() - t0) / 1000) };
}

const paths: Array<[string, (i: number, out: Float32Array) => Promise<void>]> = [
  ['28x28 PNG, direct', (i, out) => direct.decodeInto(pngs[i % pngs.length]!, out)],
  ['28x28 PNG, sharp', (i, out) => viaSharp.decodeInto(pngs[i % pngs.length]!, out)],
  ['28x28 raw grey, direct', (i, out) => direct.rawInto(raws[i % raws.length]!, { width: 28, height: 28, channels: 1 }, out)],
  ['640x480 JPEG, sharp resize', (_, out) => direct.decodeInto(jpeg, out)],
];

console.log(`model ${values.model}, ${N} frames per path, CPU time of the whole process (libuv pool included)`);
console.log(`| path | CPU µs/frame (1 at a time) | frames/s (1 at a time) | CPU µs/frame (${values.concurrency} at once) | frames/s (${values.concurrency} at once) |`);
console.log('|---|---:|---:|---:|---:|');
for (const [name, decode] of paths) {
  const one = await measure(decode, 1);
  const many = await measure(decode, Number(values.concurrency));
  console.log(`| ${name} | ${one.us.toFixed(0)} | ${one.fps.toFixed(0)} | ${many.us.toFixed(0)} | ${many.fps.toFixed(0)} |`);
}
