/**
 * Scoring-graph cost: ms/image of the compiled GAIA-Z scoring graph vs the plain
 * classifier (forward only), in onnxruntime-node on this CPU, at several batch sizes,
 * optionally next to the PyTorch reference (hooks + autograd) timed by
 * bench/torch_reference.py on the same model, threads and batches.
 *
 *   /usr/bin/python3 bench/export_bench_model.py --out bench/.cache/resnet18.onnx
 *   npm run bench:scoring -- --model bench/.cache/resnet18.onnx --threads 2 --batches 1,32,128
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph, parseHeads } from '../src/compile/compiler.js';
import { encodeModel, loadModel } from '../src/onnx/model-io.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench/.cache/resnet18.onnx' },
    threads: { type: 'string', default: '2' },
    batches: { type: 'string', default: '1,32,128' },
    heads: { type: 'string', default: 'logits,gaia_z,msp,energy' },
    /** Seconds of timed runs per (graph, batch); at least `min-runs` runs. */
    seconds: { type: 'string', default: '8' },
    'min-runs': { type: 'string', default: '5' },
    json: { type: 'string' },
    /** Output of bench/torch_reference.py on the same model, threads and batches. */
    'torch-json': { type: 'string' },
  },
});

const threads = Number(values.threads);
const batches = values.batches!.split(',').map(Number);

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

/** Median ms per image; the two sessions alternate so machine noise hits both alike. */
async function timePair(a: ort.InferenceSession, b: ort.InferenceSession, batch: number, shape: number[]) {
  const size = batch * shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(size);
  let seed = 42;
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff - 0.5;
  }
  const feeds = (s: ort.InferenceSession) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...shape]) });
  for (let w = 0; w < 2; w++) {
    await a.run(feeds(a));
    await b.run(feeds(b));
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const deadline = performance.now() + Number(values.seconds) * 1000;
  while (ta.length < Number(values['min-runs']) || performance.now() < deadline) {
    let t0 = performance.now();
    await a.run(feeds(a));
    ta.push((performance.now() - t0) / batch);
    t0 = performance.now();
    await b.run(feeds(b));
    tb.push((performance.now() - t0) / batch);
  }
  const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1) + 0.5)]!;
  // Each scoring run is divided by the forward run just before it, so slow drifts of the
  // machine (other load, clocks) cancel; the median of those pair ratios is the result.
  const ratios = ta.map((t, i) => tb[i]! / t);
  return {
    forward: quantile(ta, 0.5),
    scoring: quantile(tb, 0.5),
    ratio: quantile(ratios, 0.5),
    ratioLow: quantile(ratios, 0.25),
    ratioHigh: quantile(ratios, 0.75),
    runs: ta.length,
  };
}

const model = await loadModel(values.model!);
const compiled = compileScoringGraph(model, { heads: parseHeads(values.heads!) });
const inputShape = model.graph.inputs[0]!.shape!.slice(1).map(Number);
const forward = await session(encodeModel(model));
const scoring = await session(encodeModel(compiled.model));
console.log(`model ${values.model}: ${compiled.taps.length} taps, heads ${compiled.heads.join(',')}, ${threads} threads`);
console.log('| batch | forward ms/img | scoring ms/img | scoring / forward (median of pairs) | interquartile | runs |');
console.log('|---:|---:|---:|---:|---:|---:|');
const rows = [];
for (const batch of batches) {
  const r = await timePair(forward, scoring, batch, inputShape);
  rows.push({ batch, ...r });
  console.log(
    `| ${batch} | ${r.forward.toFixed(3)} | ${r.scoring.toFixed(3)} | ${r.ratio.toFixed(2)}x | ${r.ratioLow.toFixed(2)}–${r.ratioHigh.toFixed(2)} | ${r.runs} |`,
  );
}
if (values['torch-json']) {
  const torch = JSON.parse(await readFile(values['torch-json'], 'utf8')) as {
    threads: number;
    results: Array<{ batch: number; forward_ms_per_image: number; gaia_z_ms_per_image: number }>;
  };
  console.log(`\nvs the PyTorch reference (hooks + autograd, ${torch.threads} threads, bench/torch_reference.py):`);
  console.log('| batch | PyTorch forward ms/img | PyTorch GAIA-Z ms/img | scoring graph ms/img | PyTorch GAIA-Z / ours |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const t = torch.results.find((r) => r.batch === row.batch);
    if (!t) continue;
    console.log(
      `| ${row.batch} | ${t.forward_ms_per_image.toFixed(3)} | ${t.gaia_z_ms_per_image.toFixed(3)} | ${row.scoring.toFixed(3)} | ${(t.gaia_z_ms_per_image / row.scoring).toFixed(2)}x |`,
    );
  }
}
if (values.json) await writeFile(values.json, JSON.stringify({ model: values.model, threads, heads: compiled.heads, rows }, null, 2));
await forward.release();
await scoring.release();
