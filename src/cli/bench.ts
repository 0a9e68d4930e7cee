/**
 * `gaia-sentinel bench`: ms/image of each method's scoring graph at several batch sizes, on
 * this machine, in one run (the GAIA paper's Table 1 layout), with the forward-only
 * classifier as the baseline row. Each method is compiled alone, so a row is that method's
 * whole cost: forward pass plus whatever backward or second forward pass it needs.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { compileScoringGraph } from '../compile/compiler.js';
import { DEFAULT_ODIN } from '../compile/heads/odin.js';
import type { GaiaZMode, HeadName } from '../compile/heads.js';
import { loadConfig } from '../config/load.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { writeOutput } from '../files.js';
import { loadModelPackage } from '../model/manifest.js';
import { defaultCalibrationPath, readFeatureStats } from '../calibration/calibration-file.js';
import { LABELS } from '../offline/report.js';
import { encodeModel, loadModel } from '../onnx/model-io.js';
import { wholeNumber } from './flags.js';
import { UsageError, type CliIO } from './io.js';
import { needsStats, parseMethods } from './methods.js';

export const benchUsage = `Usage: gaia-sentinel bench --model DIR [--methods LIST|all] [--batches 1,128] [--threads N] [--seconds S]
                         [--calibration FILE] [--out FILE] [--json] [--config FILE]

Times each method's scoring graph in onnxruntime (CPU) on seeded random input and prints
ms/image per batch size, the forward-only classifier first (the GAIA paper's Table 1).

  --model DIR          model package folder (manifest.json + model.onnx; not the .onnx file,
                       which only compile takes)
  --methods LIST|all   default gaia_z,gaia_a,msp,energy; all: every method (react and
                       mahalanobis read the feature statistics of --calibration)
  --batches LIST       default 1,128
  --threads N          onnxruntime intra-op threads (default 0: one per core)
  --seconds S          timed runs per (method, batch) last at least S seconds (default 3), at least 3 runs
  --calibration FILE   default calibration/<model name>.json
  --out FILE           also write the table as JSON
  --json               print that JSON object on stdout instead of the table
  --config FILE        JSON config file (keys: docs/CONFIG.md)
`;

export async function benchCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      methods: { type: 'string' },
      batches: { type: 'string' },
      threads: { type: 'string' },
      seconds: { type: 'string' },
      calibration: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) throw new UsageError('bench needs --model', benchUsage);
  const methods = parseMethods(values.methods, ['gaia_z', 'gaia_a', 'msp', 'energy']);
  const batches = (values.batches ?? '1,128').split(',').map((b) => wholeNumber('--batches', b.trim(), 1));
  const threads = wholeNumber('--threads', values.threads, 0, 0);
  const seconds = Number(values.seconds ?? '3');
  if (!(seconds > 0)) throw new GaiaError(ErrorCodes.BAD_CONFIG, `--seconds must be a positive number, got "${values.seconds}"`);
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides: { 'model.dir': values.model } });
  const pkg = await loadModelPackage(config.model.dir);
  const model = await loadModel(pkg.modelPath);
  const featureStats = needsStats(methods).length > 0 ? await readFeatureStats(values.calibration ?? defaultCalibrationPath(pkg.manifest.name, pkg.dir)) : undefined;
  const shape = pkg.manifest.input.shape.slice(1) as number[];

  const methodsWithBaseline = ['logits', ...methods] as HeadName[];
  const sessions: ort.InferenceSession[] = [];
  const rows: Array<{ method: string; msPerImage: Record<number, number> }> = [];
  try {
    for (const method of methodsWithBaseline) {
      const compiled = compileScoringGraph(model, {
        taps: config.model.taps,
        heads: [method],
        gaiaZMode: config.model.gaiaZMode as GaiaZMode,
        headSettings: { odin: { ...DEFAULT_ODIN, inputStd: pkg.manifest.input.std }, ...(featureStats ? { featureStats } : {}) },
      });
      sessions.push(
        await ort.InferenceSession.create(encodeModel(compiled.model), {
          executionProviders: ['cpu'],
          intraOpNumThreads: threads!,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        }),
      );
      rows.push({ method: method === 'logits' ? 'forward only (classifier)' : (LABELS[method] ?? method), msPerImage: {} });
    }
    for (const batch of batches) {
      const medians = await medianMsPerImage(sessions, batch, shape, seconds);
      medians.forEach((ms, i) => (rows[i]!.msPerImage[batch] = ms));
      io.stderr.write(`bench batch ${batch}: ${methodsWithBaseline.map((m, i) => `${m} ${medians[i]!.toFixed(3)}`).join(', ')} ms/image\n`);
    }
  } finally {
    for (const session of sessions) await session.release();
  }
  const table = [
    `| method | ${batches.map((b) => `batch ${b} (ms/image)`).join(' | ')} |`,
    `|---|${batches.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.method} | ${batches.map((b) => r.msPerImage[b]!.toFixed(3)).join(' | ')} |`),
  ].join('\n');
  const report = { model: pkg.manifest.name, threads, batches, seconds, rows, createdAt: new Date().toISOString() };
  if (values.out) await writeOutput(values.out, `${JSON.stringify(report, null, 2)}\n`);
  io.stdout.write(
    values.json
      ? `${JSON.stringify({ ...report, ...(values.out ? { out: values.out } : {}) })}\n`
      : `# Cost per image: ${pkg.manifest.name}, onnxruntime-node CPU, ${threads || 'all'} thread(s)\n\n${table}\n`,
  );
}

/**
 * Median ms per image of each session. The sessions take turns, one run each per round, so
 * a slow spell of a shared machine hits every method alike; rounds go on for `seconds` per
 * session on average (at least 3 rounds), after two warm-up rounds.
 */
async function medianMsPerImage(sessions: readonly ort.InferenceSession[], batch: number, shape: readonly number[], seconds: number): Promise<number[]> {
  const size = batch * shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(size);
  let seed = 42;
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (seed / 0x7fffffff - 0.5) * 4;
  }
  const feeds = (s: ort.InferenceSession) => ({ [s.inputNames[0]!]: new ort.Tensor('float32', data, [batch, ...shape]) });
  for (let w = 0; w < 2; w++) for (const s of sessions) await s.run(feeds(s));
  const times: number[][] = sessions.map(() => []);
  const deadline = performance.now() + seconds * 1000 * sessions.length;
  while (times[0]!.length < 3 || performance.now() < deadline) {
    for (const [i, s] of sessions.entries()) {
      const f = feeds(s);
      const t0 = performance.now();
      await s.run(f);
      times[i]!.push((performance.now() - t0) / batch);
    }
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)]!;
  });
}
