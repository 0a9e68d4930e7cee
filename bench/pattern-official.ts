/**
 * Both GAIA-Z modes against the official definition (PyTorch autograd) on a torchvision
 * model at 224×224, beyond the committed fixtures: tools/reference/torchvision_counts.py
 * exports the model and counts the official non-zero gradient entries per (sample, tap
 * channel) for a pseudo-random batch; this script compiles the export in both modes and
 * compares zero ratios (as counts) and GAIA-Z.
 *
 *   npm run build && node dist/bench/pattern-official.js --arch resnet50 --batch 16
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph } from '../src/compile/compiler.js';
import type { Model } from '../src/onnx/graph.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet50' },
    batch: { type: 'string', default: '16' },
    work: { type: 'string', default: '/tmp/pat' },
    python: { type: 'string', default: '/opt/torchenv/bin/python' },
  },
});
const batch = Number(values.batch);
const work = values.work!;
mkdirSync(work, { recursive: true });
const onnxPath = join(work, `${values.arch}.onnx`);
const inputPath = join(work, `${values.arch}.input.f32`);
const countsPath = join(work, `${values.arch}.counts.i32`);
const data = new Float32Array(batch * 3 * 224 * 224);
for (let i = 0, seed = 42; i < data.length; i++) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  data[i] = seed / 2147483648 - 0.5;
}
writeFileSync(inputPath, data);
execFileSync(values.python!, ['tools/reference/torchvision_counts.py', '--arch', values.arch!, '--onnx', onnxPath,
  '--input', inputPath, '--batch', String(batch), '--counts', countsPath], { stdio: 'inherit' });
const raw = readFileSync(countsPath);
const official = new Int32Array(raw.buffer, raw.byteOffset, raw.length / 4);

const model = await loadModel(onnxPath);
const heads = ['logits', 'gaia_z', 'gaia_z_ratios'] as const;
async function run(m: Model) {
  const s = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 2 });
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, 3, 224, 224]) });
  await s.release();
  return { ratios: out.gaia_z_ratios!.data as Float32Array, gaiaZ: out.gaia_z!.data as Float32Array };
}
const float = compileScoringGraph(model, { heads });
const areas = float.taps.flatMap((t) => new Array<number>(Number(t.shape[1])).fill(t.shape.slice(2).reduce<number>((a, d) => a * Number(d), 1)));
const k = areas.length;
if (official.length !== batch * k) throw new Error(`official counts: ${official.length} values, expected ${batch}×${k}`);
// The official score from the counts, in float64.
const reference = Array.from({ length: batch }, (_, b) => areas.reduce((acc, a, c) => acc + (official[b * k + c]! / a) ** 2, 0) / k);
const compare = ({ ratios, gaiaZ }: { ratios: Float32Array; gaiaZ: Float32Array }) => {
  let differing = 0;
  for (let i = 0; i < ratios.length; i++) if (Math.round(ratios[i]! * areas[i % k]!) !== official[i]) differing++;
  return { differingRatios: differing, gaiaZRelError: reference.reduce((w, v, b) => Math.max(w, Math.abs(gaiaZ[b]! - v) / v), 0) };
};
console.log(JSON.stringify({
  arch: values.arch,
  batch,
  ratios: batch * k,
  float: compare(await run(float.model)),
  pattern: compare(await run(compileScoringGraph(model, { heads, gaiaZMode: 'pattern' }).model)),
}));
