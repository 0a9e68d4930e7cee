/**
 * Decode + preprocess of 1920x1080 JPEGs (quality 85) to a 224x224 RGB model input: the
 * agent's path (src/frames/preprocess.ts) against the peers (bench/decode_peers.py: Pillow
 * with and without `draft`, OpenCV with and without IMREAD_REDUCED_COLOR_*), in one run,
 * rounds alternating between the two processes, on the same frames. Per path: CPU-ms per
 * frame (one frame at a time; median over the rounds) and the mean absolute difference in
 * 0–255 levels against the same decoder's exact path (full decode, then the same resize)
 * and against Pillow's exact path (torchvision's).
 *
 *   node bench/camera-packages.mjs     # the frames, once
 *   npm run build && node dist/bench/decode-camera.js [--frames bench/.cache/camera/resnet50] [--crop 1|0.875] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadModelPackage, type ModelManifest } from '../src/model/manifest.js';
import { Preprocessor } from '../src/frames/preprocess.js';

const { values } = parseArgs({
  options: {
    package: { type: 'string', default: 'bench/.cache/camera/resnet50' },
    /** 1: sharp's cover (the camera packages); 0.875: torchvision's Resize(256) + CenterCrop(224). */
    crop: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const crop = Number(values.crop);
const rounds = Number(values.rounds);
const dir = join(values.package!, 'samples', 'id');
const names = readdirSync(dir).filter((n) => /\.jpe?g$/i.test(n)).sort();
const frames = names.map((n) => readFileSync(join(dir, n)));
const pkg = await loadModelPackage(values.package!);
const manifest: ModelManifest = {
  ...pkg.manifest,
  input: { ...pkg.manifest.input, resize: { ...pkg.manifest.input.resize, mode: 'cover', ...(crop !== 1 ? { crop } : {}) } },
};
const limits = { maxBytes: 1 << 24, maxPixels: 1 << 26 };
const pre = new Preprocessor(manifest, limits);
const size = manifest.input.resize.width;
const per = pre.elementsPerFrame;

/** The 0–255 levels (HWC) a normalised CHW tensor was made from (src/frames/pixels.ts normaliseInto, inverted). */
function levels(out: Float32Array, into: Uint8Array, offset: number): void {
  const { scale, mean, std } = manifest.input;
  const area = size * size;
  for (let c = 0; c < 3; c++) {
    const mul = scale / std[c]!;
    const add = -mean[c]! / std[c]!;
    for (let i = 0; i < area; i++) into[offset + i * 3 + c] = Math.round((out[c * area + i]! - add) / mul);
  }
}

type Path = (frame: Buffer, out: Float32Array) => Promise<void>;
const agentPaths: Record<string, Path> = {
  'agent (sharp)': (f, out) => pre.decodeInto(f, out),
  // The exact reference: the whole frame decoded, then the agent's own resize from its pixels.
  'sharp exact': async (f, out) => {
    const { data, info } = await sharp(f).raw().toBuffer({ resolveWithObject: true });
    await pre.rawInto(data, { width: info.width, height: info.height, channels: info.channels as 3 }, out);
  },
};

async function timeAgent(name: string): Promise<{ ms: number; pixels: Uint8Array }> {
  const outs = frames.map(() => new Float32Array(per));
  await agentPaths[name]!(frames[0]!, outs[0]!); // warm-up
  const cpu0 = process.cpuUsage();
  for (const [i, f] of frames.entries()) await agentPaths[name]!(f, outs[i]!);
  const cpu = process.cpuUsage(cpu0);
  const pixels = new Uint8Array(frames.length * size * size * 3);
  outs.forEach((out, i) => levels(out, pixels, i * size * size * 3));
  return { ms: (cpu.user + cpu.system) / 1000 / frames.length, pixels };
}

/** What the crop and grey paths paid per frame before reading the size from the header. */
async function timeMetadata(): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (const f of frames) await sharp(f).metadata();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / frames.length;
}

const outDir = join('bench', '.cache', 'decode-peers');
mkdirSync(outDir, { recursive: true });
const times = new Map<string, number[]>();
const pixels = new Map<string, Uint8Array>();
const note = (name: string, ms: number) => times.set(name, [...(times.get(name) ?? []), ms]);
for (let r = 0; r < rounds; r++) {
  for (const name of Object.keys(agentPaths)) {
    const t = await timeAgent(name);
    note(name, t.ms);
    pixels.set(name, t.pixels);
  }
  note('libvips metadata call alone', await timeMetadata());
  const peers = JSON.parse(
    execFileSync(values.python!, ['bench/decode_peers.py', '--frames', dir, '--size', String(size), '--crop', String(crop), '--out', outDir], { encoding: 'utf8' }),
  ) as { paths: Record<string, { cpuMsPerFrame: number[] }> };
  for (const [name, p] of Object.entries(peers.paths)) note(name, p.cpuMsPerFrame[0]!);
}
for (const name of ['pillow-exact', 'pillow-draft', 'opencv-exact', 'opencv-reduced']) pixels.set(name, new Uint8Array(readFileSync(join(outDir, `${name}.u8`))));

const mad = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const exactOf: Record<string, string> = { 'agent (sharp)': 'sharp exact', 'pillow-draft': 'pillow-exact', 'opencv-reduced': 'opencv-exact' };
console.log(`${frames.length} frames from ${dir} (${frames[0]!.length >> 10} KiB first), to ${size}x${size} RGB, cover${crop !== 1 ? ` with crop ${crop} (torchvision Resize(${Math.floor(size / crop + 1e-9)}) + CenterCrop(${size}))` : ''}; ${rounds} rounds`);
console.log('| path | CPU-ms/frame (median; each round) | mean abs diff vs its exact path (levels) | vs Pillow exact (levels) |');
console.log('|---|---:|---:|---:|');
for (const [name, ts] of times) {
  if (!pixels.has(name)) continue;
  const own = exactOf[name];
  console.log(
    `| ${name} | ${median(ts).toFixed(2)} (${ts.map((t) => t.toFixed(2)).join(', ')}) | ${own ? mad(pixels.get(name)!, pixels.get(own)!).toFixed(2) : '–'} | ${mad(pixels.get(name)!, pixels.get('pillow-exact')!).toFixed(2)} |`,
  );
}
console.log(`libvips metadata call alone (per frame, no longer made by the crop and grey paths): ${median(times.get('libvips metadata call alone')!).toFixed(3)} CPU-ms`);
