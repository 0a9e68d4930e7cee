/**
 * What decoding a camera JPEG costs at the least: libvips' JPEG loader (libjpeg-turbo, as
 * sharp ships it) with DCT-domain scaling of 1/1, 1/2, 1/4 and 1/8 and nothing after it,
 * against the agent's own path (sharp's resize to 224×224 cover, which picks 1/2 for a
 * 1080p frame: docs/BENCHMARKS.md). At 1/8 the inverse DCT is almost free and what is left
 * is the entropy decoding every scale pays: the floor for any decoder of these files.
 * sharp exposes no scale for buffers, so each frame goes through a temporary file named
 * `frame.jpg[shrink=N]` (libvips' load options); the file write is outside the timing.
 *
 *   npm run build && node dist/bench/decode-floor.js [--frames bench/.cache/camera/resnet50/samples/id] [--rounds 3]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: 'bench/.cache/camera/resnet50/samples/id' },
    rounds: { type: 'string', default: '3' },
  },
});
sharp.concurrency(1);
sharp.cache(false);
const names = readdirSync(values.frames!).filter((f) => /\.jpe?g$/i.test(f)).sort();
if (names.length === 0) throw new Error(`no JPEG frames in ${values.frames}: run node bench/camera-packages.mjs first (docs/DEPLOY.md "Sizing")`);
const dir = mkdtempSync(join(tmpdir(), 'gaia-decode-floor-'));
const files = names.map((n, i) => {
  const path = join(dir, `frame-${i}.jpg`);
  writeFileSync(path, readFileSync(join(values.frames!, n)));
  return path;
});
const buffers = files.map((f) => readFileSync(f));

const paths: Record<string, (i: number) => Promise<unknown>> = {
  'agent path: sharp resize 224x224 cover (picks 1/2)': (i) => sharp(buffers[i]).resize(224, 224, { fit: 'cover' }).removeAlpha().raw().toBuffer(),
  ...Object.fromEntries([1, 2, 4, 8].map((s) => [`libvips decode only, DCT scale 1/${s}`, (i: number) => sharp(`${files[i]}[shrink=${s}]`).raw().toBuffer()])),
};

const perFrame: Record<string, number[]> = {};
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, run] of Object.entries(paths)) {
    await run(0);
    const t0 = process.cpuUsage();
    for (let i = 0; i < files.length; i++) await run(i);
    const used = process.cpuUsage(t0);
    (perFrame[name] ??= []).push((used.user + used.system) / 1000 / files.length);
  }
}
rmSync(dir, { recursive: true, force: true });
const first = await sharp(buffers[0]).metadata();
console.log(`${files.length} frames from ${values.frames} (${first.width}x${first.height} first), ${values.rounds} rounds, one thread`);
console.log('| path | CPU-ms/frame (median; each round) |');
console.log('|---|---:|');
for (const [name, list] of Object.entries(perFrame)) {
  const median = [...list].sort((a, b) => a - b)[list.length >> 1]!;
  console.log(`| ${name} | ${median.toFixed(2)} (${list.map((v) => v.toFixed(2)).join(', ')}) |`);
}
