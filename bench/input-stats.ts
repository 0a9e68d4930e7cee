/**
 * CPU cost of the input heads' statistics (frames/measure-frame.ts) beside the model's own
 * decode, per frame, one at a time (median of `--rounds` passes over the frames):
 *
 *   npm run build && node dist/bench/input-stats.js [--model models/fmnist-cnn] [--rounds 10]
 *
 * - 1920x1080 camera JPEGs (OpenCV sample photographs, opencv-doc, scaled to 1080p, quality 85)
 * - the bundled 28x28 PNG samples (the replay's frames)
 *
 * and the frozen check's fingerprint from the model's own tensor (frames/tensor-fingerprint.ts,
 * camera.inputStatistics auto under a rule without input heads), which needs no second decode.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { measureEncoded } from '../src/frames/measure-frame.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { tensorFingerprint } from '../src/frames/tensor-fingerprint.js';
import { loadModelPackage } from '../src/model/manifest.js';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'models/fmnist-cnn' }, rounds: { type: 'string', default: '10' } } });
const pkg = await loadModelPackage(values.model!);
const pre = new Preprocessor(pkg.manifest, { maxBytes: 1 << 24, maxPixels: 1 << 26 });
const out = new Float32Array(pre.elementsPerFrame);
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const photos = ['aero1.jpg', 'baboon.jpg', 'fruits.jpg', 'home.jpg', 'messi5.jpg', 'orange.jpg', 'building.jpg', 'butterfly.jpg'];
const camera = await Promise.all(photos.map((f) => sharp(join(OPENCV, f)).resize(1920, 1080, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer()));
const samples = join('models', 'fmnist-cnn', 'samples', 'id');
const pngs = readdirSync(samples).filter((n) => n.endsWith('.png')).slice(0, 64).map((n) => readFileSync(join(samples, n)));

async function median(frames: readonly Buffer[], fn: (f: Buffer) => Promise<unknown>): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    const t0 = performance.now();
    for (const f of frames) await fn(f);
    rounds.push((performance.now() - t0) / frames.length);
  }
  return rounds.sort((a, b) => a - b)[rounds.length >> 1]!;
}

for (const [name, frames] of [['1920x1080 JPEG', camera], ['28x28 PNG', pngs]] as const) {
  await median(frames, (f) => pre.decodeInto(f, out)); // warm-up
  const decode = await median(frames, (f) => pre.decodeInto(f, out));
  const stats = await median(frames, (f) => measureEncoded(f));
  const fingerprint = await median(frames, async () => tensorFingerprint(out, ...pre.frameShape));
  console.log(
    `${pkg.manifest.name}, ${name}: model decode ${decode.toFixed(3)} ms, input statistics ${stats.toFixed(3)} ms (+${((100 * stats) / decode).toFixed(0)} %), ` +
      `frozen fingerprint from the tensor ${fingerprint.toFixed(4)} ms (+${((100 * fingerprint) / decode).toFixed(1)} %)`,
  );
}
