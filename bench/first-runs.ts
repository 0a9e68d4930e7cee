/**
 * The first runs of a session, one by one: wall clock, CPU time (user, system) and minor page
 * faults of each. onnxruntime's CPU provider plans and faults in its memory over the first
 * two runs at a batch size, which is why runtime.warmup runs each shape twice.
 *
 *   npm run build && node dist/bench/first-runs.js --model bench/.cache/pat/resnet50.onnx --batch 16 --mode pattern
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseHeads } from '../src/compile/compiler.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18/model.onnx' },
    batch: { type: 'string', default: '16' },
    /** plain (the classifier as it is), float or pattern (the GAIA-Z mode of the scoring graph). */
    mode: { type: 'string', default: 'pattern' },
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy' },
    runs: { type: 'string', default: '5' },
  },
});

/** Minor page faults of this process so far (/proc/self/stat field 10). */
const minorFaults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);

const model = await loadModel(values.model!);
const graph = values.mode === 'plain'
  ? model
  : compileScoringGraph(model, { heads: parseHeads(values.heads!), gaiaZMode: values.mode === 'pattern' ? 'pattern' : 'float' }).model;
const session = await ort.InferenceSession.create(encodeModel(graph), { executionProviders: ['cpu'], intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
const batch = Number(values.batch);
const shape = [batch, ...model.graph.inputs[0]!.shape!.slice(1).map(Number)];
const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
for (let i = 0; i < Number(values.runs); i++) {
  const cpu = process.cpuUsage();
  const faults = minorFaults();
  const start = performance.now();
  await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) });
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  console.log(
    `${values.mode} batch ${batch} run ${i + 1}: wall ${wall.toFixed(0)} ms, user ${(used.user / 1000).toFixed(0)} ms, ` +
      `system ${(used.system / 1000).toFixed(0)} ms, minor page faults ${minorFaults() - faults}`,
  );
}
await session.release();
