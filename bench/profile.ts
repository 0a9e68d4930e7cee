/**
 * Where the scoring graph spends its time: runs it with onnxruntime's profiler and sums
 * kernel time per op type (and per forward/backward part).
 *
 *   npm run build && node dist/bench/profile.js --model bench/.cache/resnet18.onnx --batch 128 [--by-hint]
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseGaiaZMode, parseHeads } from '../src/compile/compiler.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
import { parsePatternLayout } from './pattern-layout.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench/.cache/resnet18.onnx' },
    batch: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy' },
    runs: { type: 'string', default: '3' },
    /** Runs before the timed ones, left out of the sums (the first run pre-packs weights and plans memory). */
    warmup: { type: 'string', default: '1' },
    /** float, pattern or pattern-exact (src/compile/pattern). */
    'gaia-z-mode': { type: 'string', default: 'float' },
    /** Group by op type and the compiler's node name hint (relu_mask, pattern_footprint, …) too. */
    'by-hint': { type: 'boolean', default: false },
    /** Pattern mode's lowering: blocked (default) or nchw (the lowering before the blocked one). */
    layout: { type: 'string', default: 'blocked' },
  },
});

const model = await loadModel(values.model!);
const compiled = compileScoringGraph(model, {
  heads: parseHeads(values.heads!),
  gaiaZMode: parseGaiaZMode(values['gaia-z-mode']!),
  headSettings: { patternLayout: parsePatternLayout(values.layout!) },
});
const session = await ort.InferenceSession.create(encodeModel(compiled.model), {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(values.threads),
  enableProfiling: true,
  profileFilePrefix: join(tmpdir(), `gaia-profile-${process.pid}`),
});
const batch = Number(values.batch);
const shape = [batch, ...model.graph.inputs[0]!.shape!.slice(1).map(Number)];
const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
const warmup = Number(values.warmup);
for (let i = 0; i < warmup + Number(values.runs); i++) await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) });
session.endProfiling();
await session.release();
// onnxruntime-node does not return the profile's path; it is the prefix plus a timestamp.
const name = (await readdir(tmpdir())).find((f) => f.startsWith(`gaia-profile-${process.pid}`));
if (!name) throw new Error('onnxruntime wrote no profile');
const file = join(tmpdir(), name);
const events = JSON.parse(await readFile(file, 'utf8')) as Array<{ cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }>;
await rm(file);
// Kernel events after the warm-up runs' model_run events end.
const runEnds = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts + e.dur).sort((a, b) => a - b);
const timedFrom = warmup > 0 ? (runEnds[warmup - 1] ?? 0) : 0;
const byOp = new Map<string, number>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < timedFrom) continue;
  const part = e.name.startsWith('gaia/') ? 'backward+heads' : 'forward';
  // gaia/<hint>[_node][_<n>][_nchwc] (the suffix when onnxruntime moved it to its blocked layout).
  const node = e.name.replace(/_kernel_time$/, '');
  const hint = values['by-hint'] && part !== 'forward' ? ` ${node.replace(/^gaia\//, '').replace(/(_node)?(_\d+)*(_nchwc)?$/, (m) => (m.endsWith('_nchwc') ? ' (nchwc)' : ''))}` : '';
  const key = `${part} ${e.args?.op_name ?? '?'}${hint}`;
  byOp.set(key, (byOp.get(key) ?? 0) + e.dur);
  total += e.dur;
}
console.log(`batch ${batch}: kernel time per op type over ${values.runs} runs after ${warmup} warm-up (total ${(total / 1000).toFixed(0)} ms)`);
for (const [k, v] of [...byOp].sort((a, b) => b[1] - a[1])) {
  console.log(`${k.padEnd(40)} ${(v / 1000).toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%`);
}
