/**
 * GAIA-Z pattern mode vs float mode vs the plain classifier, in onnxruntime-node on this
 * CPU, paired in one process: each round runs the three sessions back to back on the same
 * batch, and the ratios are per round (so drifts of a shared machine cancel), reported as
 * medians with their interquartile range. Also checks that all give the same GAIA-Z (the
 * max GAIA-Z diff column: pattern against float, and against --before).
 * With --before, a fourth session in every round: a scoring graph built by an earlier
 * release (its pattern mode), so that a change is measured against it in the same rounds.
 *
 *   npm run build && node dist/bench/pattern.js --model models/fmnist-resnet18/model.onnx --batches 1,16,128
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseHeads } from '../src/compile/compiler.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
import { parsePatternLayout } from './pattern-layout.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18/model.onnx' },
    threads: { type: 'string', default: '2' },
    batches: { type: 'string', default: '1,16,128' },
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy' },
    /** Seconds of timed rounds per batch; at least `min-runs` rounds. */
    seconds: { type: 'string', default: '10' },
    'min-runs': { type: 'string', default: '5' },
    json: { type: 'string' },
    /** A compiled scoring graph (same model and heads) to time beside the others. */
    before: { type: 'string' },
    /**
     * Time each run by the process's CPU time (user + system) instead of the wall clock,
     * with onnxruntime's spin-waiting off so that idle threads cost nothing: on a machine
     * shared with other jobs, the work a run does, not how long it waited for a core.
     */
    'cpu-time': { type: 'boolean', default: false },
    /**
     * Wall clock with onnxruntime's spin-waiting off. Each session has its own thread pool,
     * and with spinning a session's threads keep spinning into the next session's run in
     * the same round, which inflates short runs (batch 1 and 16 of a 28×28 net) on 2 cores.
     */
    'no-spin': { type: 'boolean', default: false },
    /**
     * Without onnxruntime's CPU memory arena (each session's arena keeps its peak and
     * rounds allocations up): for the largest batches, where four sessions in one
     * process would not fit in memory otherwise.
     */
    'no-arena': { type: 'boolean', default: false },
    /**
     * Leave the float-mode session out (its columns print –): the largest batches fit in
     * memory with the arena as two sessions where three do not; time float / plain in a
     * second run.
     */
    'no-float': { type: 'boolean', default: false },
    /** Pattern mode's lowering for the pattern session: blocked (default) or nchw (bench/pattern-layout.ts). */
    layout: { type: 'string', default: 'blocked' },
  },
});

const threads = Number(values.threads);
const cpuTime = values['cpu-time']!;

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    ...(values['no-arena'] ? { enableCpuMemArena: false } : {}),
    ...(cpuTime || values['no-spin'] ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  });
}

function inputs(batch: number, shape: number[]): Float32Array {
  const size = batch * shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(size);
  let seed = 42;
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff - 0.5;
  }
  return data;
}

const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1) + 0.5)]!;
const summary = (xs: number[]) => ({ median: quantile(xs, 0.5), low: quantile(xs, 0.25), high: quantile(xs, 0.75) });

const model = await loadModel(values.model!);
const heads = parseHeads(values.heads!);
const t0 = performance.now();
const float = compileScoringGraph(model, { heads });
const t1 = performance.now();
const pattern = compileScoringGraph(model, { heads, gaiaZMode: 'pattern', headSettings: { patternLayout: parsePatternLayout(values.layout!) } });
const t2 = performance.now();
if (pattern.gaiaZMode !== 'pattern') console.log(`pattern mode fell back: ${pattern.notes.join('; ')}`);
const shape = model.graph.inputs[0]!.shape!.slice(1).map(Number);
const plainS = await session(encodeModel(model));
const floatS = values['no-float'] ? undefined : await session(encodeModel(float.model));
const patternS = await session(encodeModel(pattern.model));
const beforeS = values.before ? await session(await readFile(values.before)) : undefined;
console.log(
  `model ${values.model}: ${float.taps.length} taps, heads ${heads.join(',')}, ${threads} threads${cpuTime ? ', CPU time (no spinning)' : values['no-spin'] ? ', wall clock without spinning' : ''}${values['no-arena'] ? ', no memory arena' : ''}; ` +
    `compile ${(t1 - t0).toFixed(0)} ms (float), ${(t2 - t1).toFixed(0)} ms (pattern); ` +
    `nodes ${model.graph.nodes.length} / ${float.model.graph.nodes.length} / ${pattern.model.graph.nodes.length} (plain / float / pattern)`,
);
const extra = beforeS ? ' before ms/img | before / plain | before / pattern |' : '';
console.log(`| batch | plain ms/img | float ms/img | pattern ms/img | float / plain | pattern / plain | float / pattern |${extra} max GAIA-Z diff | rounds |`);
console.log(`|---:|---:|---:|---:|---:|---:|---:|${beforeS ? '---:|---:|---:|' : ''}---:|---:|`);
const rows = [];
for (const batch of values.batches!.split(',').map(Number)) {
  const data = inputs(batch, shape);
  const feed = (s: ort.InferenceSession) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...shape]) });
  const run = async (s: ort.InferenceSession) => {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const out = await s.run(feed(s));
    const used = process.cpuUsage(cpu);
    const ms = cpuTime ? (used.user + used.system) / 1000 : performance.now() - start;
    return { ms: ms / batch, out };
  };
  const p0 = (await run(patternS)).out.gaia_z!.data as Float32Array;
  const f0 = floatS ? ((await run(floatS)).out.gaia_z!.data as Float32Array) : p0;
  const b0 = beforeS ? ((await run(beforeS)).out.gaia_z!.data as Float32Array) : p0;
  const diff = [f0, b0].reduce((m, other) => other.reduce((d, v, i) => Math.max(d, Math.abs(v - p0[i]!)), m), 0);
  await run(plainS);
  const times = { plain: [] as number[], float: [] as number[], pattern: [] as number[], before: [] as number[] };
  const deadline = performance.now() + Number(values.seconds) * 1000;
  while (times.plain.length < Number(values['min-runs']) || performance.now() < deadline) {
    times.plain.push((await run(plainS)).ms);
    times.float.push(floatS ? (await run(floatS)).ms : Number.NaN);
    times.pattern.push((await run(patternS)).ms);
    if (beforeS) times.before.push((await run(beforeS)).ms);
  }
  const per = (a: number[], b: number[]) => summary(a.map((t, i) => t / b[i]!));
  const row = {
    batch,
    plain: quantile(times.plain, 0.5),
    float: quantile(times.float, 0.5),
    pattern: quantile(times.pattern, 0.5),
    floatOverPlain: per(times.float, times.plain),
    patternOverPlain: per(times.pattern, times.plain),
    floatOverPattern: per(times.float, times.pattern),
    ...(beforeS
      ? { before: quantile(times.before, 0.5), beforeOverPlain: per(times.before, times.plain), beforeOverPattern: per(times.before, times.pattern) }
      : {}),
    maxGaiaZDiff: diff,
    rounds: times.plain.length,
  };
  rows.push(row);
  const r = (s: { median: number; low: number; high: number }) => (Number.isNaN(s.median) ? '–' : `${s.median.toFixed(2)}x (${s.low.toFixed(2)}–${s.high.toFixed(2)})`);
  const ms = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(3));
  const beforeCells = row.before === undefined ? '' : ` ${row.before.toFixed(3)} | ${r(row.beforeOverPlain!)} | ${r(row.beforeOverPattern!)} |`;
  console.log(
    `| ${batch} | ${ms(row.plain)} | ${ms(row.float)} | ${ms(row.pattern)} | ${r(row.floatOverPlain)} | ${r(row.patternOverPlain)} | ${r(row.floatOverPattern)} |${beforeCells} ${diff.toExponential(1)} | ${row.rounds} |`,
  );
}
if (values.json) await writeFile(values.json, JSON.stringify({ model: values.model, threads, heads, clock: cpuTime ? 'cpu' : 'wall', rows }, null, 2));
await Promise.all([plainS.release(), floatS?.release(), patternS.release(), beforeS?.release()]);
