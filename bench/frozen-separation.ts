/**
 * Does the frozen-frame check tell a live camera on a still scene from a frozen one at 1080p?
 * A still scene (an opencv-doc photograph scaled to 1920x1080) with fresh sensor noise in
 * every frame (σ ≈ `--noise` grey levels, JPEG quality 85): how many consecutive pairs the
 * check judges the same picture (dHash within 2 bits and Laplacian variance within 0.1 %),
 * with the hash and sharpness from the 128 px copy (`full`: from the model's own decode where
 * its resize allows, else a second decode, as the agent measures) or from the model's own
 * input tensor (`frozen`, camera.inputStatistics auto without input heads).
 * A frozen stream (the same JPEG re-sent), and one whose picture is frozen under a burned-in
 * clock (a 240×48 patch at the top left redrawn every frame, then re-encoded), should be
 * judged the same on every pair. Besides the hash and sharpness the check compares a block
 * digest of the model's input tensor (src/frames/block-digest.ts): at least 90 % of its
 * informative blocks bit for bit the same.
 *
 *   npm run build && node dist/bench/frozen-separation.js [--model models/fmnist-cnn] [--noise 2] [--pairs 30] [--without-blocks]
 *
 * --without-blocks: the check as it was before the block digest (hash and sharpness only).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { InputStats } from '../src/contracts/input-stats.js';
import { DEFAULT_FROZEN, FrozenFrameMonitor } from '../src/detect/camera-health.js';
import { decodeMeasured } from '../src/frames/frame-decoder.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { loadModelPackage } from '../src/model/manifest.js';

const { values } = parseArgs({
  options: { model: { type: 'string', default: 'models/fmnist-cnn' }, noise: { type: 'string', default: '2' }, pairs: { type: 'string', default: '30' }, 'without-blocks': { type: 'boolean', default: false } },
});
const pkg = await loadModelPackage(values.model!);
const pre = new Preprocessor(pkg.manifest, { maxBytes: 1 << 24, maxPixels: 1 << 26 });
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const noise = Number(values.noise);
let seed = 1;
const random = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;

async function liveFrames(photo: string, n: number): Promise<Buffer[]> {
  const base = await sharp(join(OPENCV, photo)).resize(1920, 1080, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const frames: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const px = Buffer.from(base);
    for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, px[i]! + Math.round(noise * (random() + random() + random() - 1.5) * 2)));
    frames.push(await sharp(px, { raw: { width: 1920, height: 1080, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
  return frames;
}

/** The first live frame re-encoded with a different 240×48 "clock" at the top left each time. */
async function clockedFrames(first: Buffer, n: number): Promise<Buffer[]> {
  const base = await sharp(first).removeAlpha().raw().toBuffer();
  const frames: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const px = Buffer.from(base);
    for (let y = 8; y < 56; y++) for (let x = 8; x < 248; x++) px.fill(((x >> 4) + k) % 2 ? 255 : 0, (y * 1920 + x) * 3, (y * 1920 + x) * 3 + 3);
    frames.push(await sharp(px, { raw: { width: 1920, height: 1080, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
  return frames;
}

/** Consecutive pairs the frozen check calls the same picture (the run it builds, minus one). */
async function samePairs(frames: readonly Buffer[], measure: 'full' | 'frozen'): Promise<number> {
  // A run of 2 is frozen: after each frame, isFrozen says whether it matched the one before.
  const monitor = new FrozenFrameMonitor({ ...DEFAULT_FROZEN, frames: 2, ...(values['without-blocks'] ? { minIdenticalBlocks: undefined } : {}) });
  const tensor = new Float32Array(pre.elementsPerFrame);
  let same = 0;
  for (const f of frames) {
    const input: InputStats = (await decodeMeasured(pre, f, {}, tensor, measure)).input; // as the agent's decode stage
    monitor.observe('cam', input);
    if (monitor.isFrozen('cam')) same++;
  }
  return same;
}

const pairs = Number(values.pairs);
for (const photo of ['fruits.jpg', 'building.jpg', 'home.jpg']) {
  const live = await liveFrames(photo, pairs + 1);
  const frozen = Array.from({ length: pairs + 1 }, () => live[0]!);
  const clocked = await clockedFrames(live[0]!, pairs + 1);
  const cells = [];
  for (const m of ['full', 'frozen'] as const) {
    cells.push(`${m}: live ${await samePairs(live, m)}/${pairs}, frozen ${await samePairs(frozen, m)}/${pairs}, frozen under a clock ${await samePairs(clocked, m)}/${pairs}`);
  }
  console.log(`${pkg.manifest.name}, ${photo} at 1920x1080, noise σ≈${noise}: pairs judged the same picture; ${cells.join('; ')}`);
}
