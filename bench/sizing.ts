/**
 * Sizing at camera resolution: what one 1920x1080 JPEG frame costs the agent on this
 * machine, per model — decoding and preprocessing (sharp: JPEG decode, resize to 224x224,
 * normalise), one frame at a time and four at once, and scoring through the agent's
 * scoring graph (the WorkerScorer, GAIA-Z in pattern mode plus MSP and Energy) at the batch
 * sizes that matter, next to the plain classifier's forward pass in the same process,
 * paired: the two alternate run by run and the CPU ratio is taken per round.
 *
 *   node bench/camera-packages.mjs                   # the packages and frames, once
 *   npm run build && node dist/bench/sizing.js [--models resnet50,mobilenet_v3_large] [--batches 1,8,32] [--seconds 20]
 *
 * End-to-end frames/s through the broker: dist/bench/e2e-kafka.js --model bench/.cache/camera/<name>.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../src/config/load.js';
import { loadModelPackage } from '../src/model/manifest.js';
import { Preprocessor } from '../src/frames/preprocess.js';
import { openModel } from '../src/model/open-model.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'resnet50,mobilenet_v3_large' },
    batches: { type: 'string', default: '1,8,32' },
    seconds: { type: 'string', default: '20' },
  },
});
const seconds = Number(values.seconds);

async function timed(run: () => Promise<number>, budget: number): Promise<{ msPerFrame: number; cpuMsPerFrame: number }> {
  await run(); // warm-up: first-run allocations and, on CUDA, the per-shape algorithm search
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let frames = 0;
  while (performance.now() - t0 < budget * 1000 || frames === 0) frames += await run();
  const cpu = process.cpuUsage(cpu0);
  return { msPerFrame: (performance.now() - t0) / frames, cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames };
}

/** Runs a and b alternately for `budget` seconds (at least 3 rounds): each one's time per frame, and the median per-round CPU ratio b / a. */
async function paired(a: () => Promise<number>, b: () => Promise<number>, budget: number) {
  await a();
  await b(); // warm-up
  const t = { a: [] as number[][], b: [] as number[][] };
  const once = async (run: () => Promise<number>, into: number[][]) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const frames = await run();
    const cpu = process.cpuUsage(cpu0);
    into.push([(performance.now() - t0) / frames, (cpu.user + cpu.system) / 1000 / frames]);
  };
  const start = performance.now();
  while (t.a.length < 3 || performance.now() - start < budget * 1000) {
    await once(a, t.a);
    await once(b, t.b);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const q = (xs: number[], f: number) => [...xs].sort((x, y) => x - y)[Math.round(f * (xs.length - 1))]!;
  const mean = (rows: number[][], k: number) => rows.reduce((acc, r) => acc + r[k]!, 0) / rows.length;
  const ratios = t.b.map((r, i) => r[1]! / t.a[i]![1]!);
  return {
    a: { msPerFrame: mean(t.a, 0), cpuMsPerFrame: mean(t.a, 1) },
    b: { msPerFrame: mean(t.b, 0), cpuMsPerFrame: mean(t.b, 1) },
    ratio: `${median(ratios).toFixed(2)}x (${q(ratios, 0.25).toFixed(2)}–${q(ratios, 0.75).toFixed(2)})`,
    rounds: ratios.length,
  };
}

console.log(`| model | step | batch / concurrency | wall ms/frame | CPU ms/frame | frames/s |`);
console.log(`|---|---|---:|---:|---:|---:|`);
for (const name of values.models!.split(',')) {
  const dir = join('bench', '.cache', 'camera', name);
  const frames = readdirSync(join(dir, 'samples', 'id')).sort().map((n) => readFileSync(join(dir, 'samples', 'id', n)));
  // What the agent runs: its default heads and settings, on the CPU provider.
  const config = loadConfig({ env: {}, overrides: { 'model.dir': dir, 'runtime.executionProviders': ['cpu'] } });
  const pkg = await loadModelPackage(dir);
  const { scorer } = await openModel(
    pkg,
    { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: config.runtime.intraOpThreads, taps: config.model.taps, gaiaZMode: 'pattern' },
    { batchTimeoutMs: 600_000 },
  );
  const session = { pre: new Preprocessor(pkg.manifest, config.frames), scorer };
  const per = session.pre.elementsPerFrame;
  const row = (step: string, n: number, r: { msPerFrame: number; cpuMsPerFrame: number }) =>
    console.log(`| ${name} | ${step} | ${n} | ${r.msPerFrame.toFixed(2)} | ${r.cpuMsPerFrame.toFixed(2)} | ${(1000 / r.msPerFrame).toFixed(1)} |`);
  let next = 0;
  for (const concurrency of [1, 4]) {
    const outs = Array.from({ length: concurrency }, () => new Float32Array(per));
    const r = await timed(async () => {
      await Promise.all(outs.map((out) => session.pre.decodeInto(frames[next++ % frames.length]!, out)));
      return concurrency;
    }, seconds / 2);
    row('decode + preprocess (sharp)', concurrency, r);
  }
  const plain = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: config.runtime.intraOpThreads,
    interOpNumThreads: 1,
  });
  for (const batch of values.batches!.split(',').map(Number)) {
    const input = new Float32Array(batch * per);
    for (let i = 0; i < batch; i++) await session.pre.decodeInto(frames[i % frames.length]!, input.subarray(i * per, (i + 1) * per));
    // Paired: each round runs the plain classifier and the scoring graph back to back on the
    // same batch, so a shared machine's drifts hit both; the ratio is per round.
    const plainRun = async () => {
      await plain.run({ [plain.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 3, 224, 224]) });
      return batch;
    };
    const scoreRun = async () => {
      await session.scorer.score(input.slice(), batch);
      return batch;
    };
    const pairs = await paired(plainRun, scoreRun, seconds);
    row('plain classifier (forward only)', batch, pairs.a);
    row('scoring graph (GAIA-Z pattern, MSP, Energy)', batch, pairs.b);
    console.log(`| ${name} | scoring graph / plain, CPU (median of ${pairs.rounds} rounds, IQR) | ${batch} | – | ${pairs.ratio} | – |`);
  }
  await plain.release();
  await session.scorer.close();
}
