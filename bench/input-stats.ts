/**
 * CPU cost of the input heads' statistics beside the model's own decode, per frame, one frame
 * at a time. CPU time of the whole process (libvips' threads included), so the figures hold
 * on a shared machine; the paths alternate within each round and the median round is shown:
 *
 *   npm run build && node dist/bench/input-stats.js [--model models/fmnist-cnn] [--rounds 10]
 *
 * - 1920x1080 camera JPEGs (OpenCV sample photographs, opencv-doc, scaled to 1080p, quality 85)
 * - the bundled 28x28 PNG samples (the replay's frames)
 *
 * Paths: the model's decode alone; the model's decode and the second, small decode
 * (measure-frame.ts measureEncoded, how every input head was measured before issue #24's
 * third pass); decodeMeasured 'full' (one decode where the model's resize allows it,
 * whole-frame.ts); and the frozen check's fingerprint from the model's own tensor
 * (frames/tensor-fingerprint.ts, camera.inputStatistics auto under a rule without input heads).
 * Last, the statistics alone (inputStats) on a 128x72 RGB copy, the size a 16:9 frame's copy has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeMeasured } from '../src/frames/frame-decoder.js';
import { inputStats } from '../src/frames/input-stats.js';
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

/** CPU ms per frame of each path, round by round (paths alternate within a round); the median round of each. */
async function cpuPerFrame(frames: readonly Buffer[], paths: Record<string, (f: Buffer) => Promise<unknown>>): Promise<Record<string, number>> {
  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const [name, fn] of Object.entries(paths)) {
      const c0 = process.cpuUsage();
      for (const f of frames) await fn(f);
      const c = process.cpuUsage(c0);
      rounds[name]!.push((c.user + c.system) / 1000 / frames.length);
    }
  }
  return Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, v.sort((a, b) => a - b)[v.length >> 1]!]));
}

const headers = {};
for (const [name, frames] of [['1920x1080 JPEG', camera], ['28x28 PNG', pngs]] as const) {
  for (const f of frames) await decodeMeasured(pre, f, headers, out, 'full'); // warm-up
  const cpu = await cpuPerFrame(frames, {
    decode: (f) => pre.decodeInto(f, out),
    twoDecodes: async (f) => {
      await pre.decodeInto(f, out);
      return measureEncoded(f);
    },
    oneDecode: (f) => decodeMeasured(pre, f, headers, out, 'full'),
    fingerprint: async () => tensorFingerprint(out, ...pre.frameShape),
  });
  const pct = (x: number) => `+${((100 * (x - cpu.decode!)) / cpu.decode!).toFixed(0)} %`;
  console.log(
    `${pkg.manifest.name}, ${name}, CPU ms/frame: model decode ${cpu.decode!.toFixed(3)}; with every input head: two decodes ${cpu.twoDecodes!.toFixed(3)} (${pct(cpu.twoDecodes!)}), ` +
      `one decode ${cpu.oneDecode!.toFixed(3)} (${pct(cpu.oneDecode!)}); frozen fingerprint from the tensor ${cpu.fingerprint!.toFixed(4)}`,
  );
}

// The statistics alone, on the copy a 16:9 frame gets (pseudo-random pixels: every branch taken).
const copy = { data: Uint8Array.from({ length: 128 * 72 * 3 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 255), width: 128, height: 72, channels: 3 };
for (let i = 0; i < 2000; i++) inputStats(copy);
const calls = 20000;
const c0 = process.cpuUsage();
for (let i = 0; i < calls; i++) inputStats(copy);
const c = process.cpuUsage(c0);
console.log(`input statistics alone, 128x72 RGB copy: ${((c.user + c.system) / calls).toFixed(1)} CPU-us per frame (every input head and the frozen hash)`);
