/**
 * The saliency head's cost (issue #26): ms per frame of the scoring graph with `saliency`
 * against the same graph without it, run alternately in one process so machine noise hits
 * both alike (the ratio of each pair, then the median). Per model and method: "auto" (CAM
 * where the classifier ends in global average pooling + linear) and, with --methods,
 * "layercam" (what a classifier without that head gets).
 *
 *   npm run build && nice -n 10 node dist/bench/saliency.js --threads 2 --batches 1,32,128 [--cpu-time]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseGaiaZMode, parseHeads } from '../src/compile/compiler.js';
import { SALIENCY_METHODS, type SaliencyMethod } from '../src/compile/heads/saliency.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';
import { nodesOnlyFor, profileShare, type ProfileShare } from './saliency-profile.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'models/fmnist-cnn/model.onnx,models/fmnist-resnet18/model.onnx' },
    methods: { type: 'string', default: 'auto,layercam' },
    threads: { type: 'string', default: '2' },
    batches: { type: 'string', default: '1,32,128' },
    /** The graph without saliency: the agent's default heads (and its verdict rule's ratios). */
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy,gaia_z_ratios' },
    'gaia-z-mode': { type: 'string', default: 'pattern' },
    /** Seconds of timed pairs per (model, method, batch); at least `min-runs` pairs. */
    seconds: { type: 'string', default: '6' },
    'min-runs': { type: 'string', default: '5' },
    json: { type: 'string' },
    /**
     * Time each run by the CPU time the process used (user + system, all threads), with
     * onnxruntime's thread spinning off: on a machine shared with other jobs the wall clock
     * measures their load as much as the graph.
     */
    'cpu-time': { type: 'boolean', default: false },
    /** Also the head's share of onnxruntime's node profile over this many runs per row (bench/saliency-profile.ts); 0: off. */
    profile: { type: 'string', default: '0' },
    /** Only the profile, no paired timing. */
    'profile-only': { type: 'boolean', default: false },
  },
});

const threads = Number(values.threads);
const batches = values.batches!.split(',').map(Number);
const methods = values.methods!.split(',').map((m) => {
  if (!(SALIENCY_METHODS as readonly string[]).includes(m)) throw new Error(`--methods: unknown saliency method "${m}"; choose from ${SALIENCY_METHODS.join(', ')}`);
  return m as SaliencyMethod;
});
const heads = parseHeads(values.heads!);
const gaiaZMode = parseGaiaZMode(values['gaia-z-mode']!);

const cpuTime = values['cpu-time']!;
const session = (bytes: Uint8Array) =>
  ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    ...(cpuTime ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  });

const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1) + 0.5)]!;
const median = (xs: number[]) => quantile(xs, 0.5);

function frames(batch: number, shape: readonly number[]): Float32Array {
  const data = new Float32Array(batch * shape.reduce((x, y) => x * y, 1));
  let seed = 42;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff - 0.5;
  }
  return data;
}

/** Alternating runs of `without` and `with`: medians of ms/frame, of the per-pair ratio and of the per-pair difference. */
async function timePair(without: ort.InferenceSession, withMap: ort.InferenceSession, batch: number, shape: readonly number[]) {
  const data = frames(batch, shape);
  const run = async (s: ort.InferenceSession) => {
    const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...shape]) };
    if (cpuTime) {
      const cpu = process.cpuUsage();
      await s.run(feeds);
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000 / batch;
    }
    const t0 = performance.now();
    await s.run(feeds);
    return (performance.now() - t0) / batch;
  };
  for (let w = 0; w < 2; w++) {
    await run(without);
    await run(withMap);
  }
  const a: number[] = [];
  const b: number[] = [];
  const deadline = performance.now() + Number(values.seconds) * 1000;
  while (a.length < Number(values['min-runs']) || performance.now() < deadline) {
    a.push(await run(without));
    b.push(await run(withMap));
  }
  return {
    withoutMs: median(a),
    withMs: median(b),
    extraMs: median(b.map((t, i) => t - a[i]!)),
    ratio: median(b.map((t, i) => t / a[i]!)),
    ratioLow: quantile(b.map((t, i) => t / a[i]!), 0.25),
    ratioHigh: quantile(b.map((t, i) => t / a[i]!), 0.75),
    runs: a.length,
  };
}

const profileRuns = Number(values.profile);
const pairs = !values['profile-only'];
if (!pairs && !(profileRuns > 0)) throw new Error('--profile-only needs --profile RUNS (a number of runs > 0)');
const rows = [];
const profiles: Array<{ model: string; map: string; batch: number } & ProfileShare> = [];
console.log(`${threads} threads, ${cpuTime ? 'CPU time (no spinning)' : 'wall clock'}; without: heads ${heads.join(',')} (GAIA-Z ${gaiaZMode} mode); with: the same + saliency`);
if (pairs) {
  console.log('| model | saliency | map | batch | without ms/frame | with ms/frame | extra ms/frame (median of pairs) | with / without (median of pairs) | interquartile | pairs |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
}
for (const file of values.models!.split(',')) {
  const model = await loadModel(file);
  const shape = model.graph.inputs[0]!.shape!.slice(1).map(Number);
  const without = await session(encodeModel(compileScoringGraph(model, { heads, gaiaZMode }).model));
  for (const method of methods) {
    const compiled = compileScoringGraph(model, { heads: [...heads, 'saliency'], gaiaZMode, headSettings: { saliency: method } });
    const note = compiled.notes.find((n) => n.startsWith('saliency:')) ?? '';
    const map = note.includes('(CAM)') ? 'CAM' : 'LayerCAM';
    const bytes = encodeModel(compiled.model);
    const withMap = await session(bytes);
    for (const batch of batches) {
      if (profileRuns > 0) {
        const p = await profileShare(bytes, nodesOnlyFor(compiled.model.graph, 'saliency'), { threads, batch, shape, runs: profileRuns, data: frames(batch, shape) });
        profiles.push({ model: file, map, batch, ...p });
      }
      if (!pairs) continue;
      const r = await timePair(without, withMap, batch, shape);
      rows.push({ model: file, method, map, batch, ...r });
      console.log(
        `| ${file} | ${method} | ${map} | ${batch} | ${r.withoutMs.toFixed(4)} | ${r.withMs.toFixed(4)} | ${r.extraMs.toFixed(4)} | ${r.ratio.toFixed(3)}x | ${r.ratioLow.toFixed(3)}–${r.ratioHigh.toFixed(3)} | ${r.runs} |`,
      );
    }
    await withMap.release();
  }
  await without.release();
}
if (profiles.length > 0) {
  console.log(`\nthe saliency nodes in onnxruntime's node profile (${profileRuns} runs per row after 2 warm-up runs; kernel time, ${threads} threads):`);
  console.log('| model | map | batch | saliency nodes µs/frame | all nodes µs/frame | saliency share (median of runs) | saliency nodes found in the profile |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const p of profiles) {
    console.log(`| ${p.model} | ${p.map} | ${p.batch} | ${p.headUs.toFixed(2)} | ${p.allUs.toFixed(1)} | ${(100 * p.share).toFixed(2)} % | ${p.found} of ${p.nodes} |`);
  }
}
if (values.json) await writeFile(values.json, JSON.stringify({ threads, cpuTime, heads, gaiaZMode, rows, profiles }, null, 2));
