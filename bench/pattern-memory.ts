/**
 * Peak resident memory of one scoring session per GAIA-Z mode (or the plain classifier),
 * each in its own process: VmHWM after --runs runs at the given batch, minus VmHWM after
 * creating the session, divided by the batch. Still ±10–25% between identical processes
 * (the allocator's timing): run it several times and read the median. With --per-run, each
 * run's wall clock, CPU time and minor page faults too: onnxruntime's CPU provider plans
 * and faults in its memory over the first two runs at a batch size, which is why
 * runtime.warmup runs each shape twice (see them with --arena, as the agent runs).
 *
 *   npm run build && for m in plain float pattern; do
 *     node dist/bench/pattern-memory.js --model models/fmnist-resnet18/model.onnx --batch 128 --mode $m; done
 *   node dist/bench/pattern-memory.js --model bench/.cache/pat/resnet50.onnx --batch 16 --arena --runs 5 --per-run
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph } from '../src/compile/compiler.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18/model.onnx' },
    batch: { type: 'string', default: '128' },
    mode: { type: 'string', default: 'pattern' },
    /** Runs; the peak is over all of them (the second run still plans memory). */
    runs: { type: 'string', default: '3' },
    /**
     * onnxruntime's CPU arena keeps what it grew to and rounds requests up, so one run's
     * growth depends on how the arena happened to extend (±30% between identical runs);
     * without it the peak is the graph's own.
     */
    arena: { type: 'boolean', default: false },
    /** Print every run's wall clock, CPU time (user, system) and minor page faults. */
    'per-run': { type: 'boolean', default: false },
  },
});
const peakKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
/** Minor page faults of this process so far (/proc/self/stat field 10). */
const minorFaults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
const model = await loadModel(values.model!);
const graph = values.mode === 'plain'
  ? model
  : compileScoringGraph(model, { gaiaZMode: values.mode === 'pattern' ? 'pattern' : 'float' }).model;
const session = await ort.InferenceSession.create(encodeModel(graph), { executionProviders: ['cpu'], intraOpNumThreads: 2, enableCpuMemArena: values.arena! });
const batch = Number(values.batch);
const shape = [batch, ...model.graph.inputs[0]!.shape!.slice(1).map(Number)];
const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
const before = peakKiB();
for (let i = 0; i < Number(values.runs); i++) {
  const cpu = process.cpuUsage();
  const faults = minorFaults();
  const start = performance.now();
  await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) });
  if (!values['per-run']) continue;
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  console.log(
    `${values.mode} batch ${batch} run ${i + 1}: wall ${wall.toFixed(0)} ms, user ${(used.user / 1000).toFixed(0)} ms, ` +
      `system ${(used.system / 1000).toFixed(0)} ms, minor page faults ${minorFaults() - faults}`,
  );
}
const after = peakKiB();
console.log(`${values.model} ${values.mode} batch ${batch}${values.arena ? ', arena' : ''}: peak +${((after - before) / 1024).toFixed(1)} MiB, ${((after - before) / batch).toFixed(0)} KiB/frame`);
await session.release();
