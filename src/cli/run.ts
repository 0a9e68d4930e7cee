/**
 * `gaia-sentinel run`: the agent's main job. Today's source is the replay of image
 * folders (by default the model package's bundled samples: ID frames, then OOD frames);
 * each frame is decoded, batched, scored with GAIA-Z, judged against the model's
 * calibration when there is one, and printed. Kafka in/out, drift windows and metrics
 * come with the streaming agent.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { isFlagged } from '../detect/calibration.js';
import { auroc } from '../detect/metrics.js';
import { loadCalibration } from '../offline/calibration-file.js';
import { modelFingerprint } from '../offline/fingerprint.js';
import { loadModelPackage } from '../frames/manifest.js';
import { FrameError, Preprocessor } from '../frames/preprocess.js';
import { loadScorer } from '../runtime/load-scorer.js';
import { predictedClasses } from '../runtime/scorer.js';
import type { Frame } from '../stream/frame.js';
import { ReplaySource } from '../stream/replay-source.js';
import { createLogger } from '../telemetry/logger.js';
import type { CliIO } from './io.js';

export const runUsage = `Usage: gaia-sentinel run [--model DIR] [--replay DIR]... [--config FILE]

Scores a stream of frames with GAIA-Z. Source: a replay of image folders, one source per
folder (default: the model package's samples/id then samples/ood).

  --model DIR    model package (manifest.json + model.onnx); env GAIA_MODEL_DIR
  --replay DIR   image folder to replay (repeatable); env GAIA_REPLAY_DIRS
  --config FILE  JSON config file (keys: see docs/CONFIG.md)
`;

interface Scored {
  frame: Frame;
  /** Flagged as out-of-distribution by the calibration (undefined without one). */
  flagged: boolean | undefined;
  label: string;
  confidence: number;
  gaiaZ: number;
  msp: number;
  energy: number;
}

export async function runCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, replay: { type: 'string', multiple: true }, config: { type: 'string' } },
    strict: true,
  });
  const config = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    overrides: { ...(values.model ? { 'model.dir': values.model } : {}), ...(values.replay ? { 'replay.dirs': values.replay } : {}) },
  });
  const log = createLogger(config.log.level);
  const pkg = await loadModelPackage(config.model.dir);
  const started = performance.now();
  const { scorer, compiled, model } = await loadScorer(pkg, {
    executionProviders: config.runtime.executionProviders,
    requireGpu: config.runtime.requireGpu,
    intraOpThreads: config.runtime.intraOpThreads,
    taps: config.model.taps,
  });
  if (scorer.fallbacks.length > 0) {
    log.warn({ tried: scorer.fallbacks, using: scorer.executionProvider }, `execution provider fallback: using ${scorer.executionProvider}`);
  }
  log.info(
    { model: pkg.manifest.name, taps: compiled.taps.length, heads: scorer.heads, executionProvider: scorer.executionProvider, ms: Math.round(performance.now() - started) },
    'scoring graph compiled and loaded',
  );
  // From here on the scorer's worker thread is running: close it on every path.
  try {
    const calibration = await findCalibration(config.calibration.path, pkg.manifest.name, {
      model: pkg.manifest.name,
      fingerprint: modelFingerprint(model, config.model.taps, pkg.manifest),
    });
    const threshold = calibration?.heads[calibration.primaryHead];
    if (calibration) log.info({ calibration: calibration.path, rawThreshold: threshold?.rawThreshold, p0: threshold?.flagRate }, 'calibration loaded');
    const dirs = config.replay.dirs.length > 0 ? config.replay.dirs : [join(pkg.dir, 'samples', 'id'), join(pkg.dir, 'samples', 'ood')];
    const source = await ReplaySource.create(ReplaySource.folders(dirs));
    const pre = new Preprocessor(pkg.manifest, config.frames);
    const maxBatch = config.runtime.maxBatch;
    // A fresh buffer per batch: the scorer takes ownership of the one it is given.
    let input = new Float32Array(maxBatch * pre.elementsPerFrame);
    const labels = pkg.manifest.labels;
    const results: Scored[] = [];
    let batch: Frame[] = [];
    let rejected = 0;

    io.stdout.write(`${'source'.padEnd(8)} ${'frame'.padEnd(28)} ${'predicted'.padEnd(12)} ${'conf'.padStart(5)} ${'gaia_z'.padStart(8)}  verdict\n`);
    const flush = async () => {
      if (batch.length === 0) return;
      const out = await scorer.score(input, batch.length);
      input = new Float32Array(maxBatch * pre.elementsPerFrame);
      const classes = predictedClasses(out, scorer.numClasses);
      batch.forEach((frame, i) => {
        const scored: Scored = {
          frame,
          label: labels[classes[i]!] ?? String(classes[i]),
          confidence: out.scores.msp![i]!,
          gaiaZ: out.scores.gaia_z![i]!,
          msp: out.scores.msp![i]!,
          energy: out.scores.energy![i]!,
          flagged: threshold ? isFlagged(out.scores.gaia_z![i]!, threshold) : undefined,
        };
        results.push(scored);
        io.stdout.write(
          `${frame.source.padEnd(8)} ${frame.id.padEnd(28)} ${scored.label.padEnd(12)} ${scored.confidence.toFixed(2).padStart(5)} ${scored.gaiaZ.toFixed(4).padStart(8)}  ${scored.flagged === undefined ? '-' : scored.flagged ? 'OOD' : 'ok'}\n`,
        );
      });
      batch = [];
    };
    try {
      for await (const frame of source.frames()) {
        try {
          await pre.decodeInto(frame.bytes, input.subarray(batch.length * pre.elementsPerFrame));
        } catch (err) {
          if (!(err instanceof FrameError)) throw err;
          rejected++;
          log.warn({ source: frame.source, frame: frame.id, reason: err.reason, err: err.message }, 'frame rejected');
          continue;
        }
        batch.push(frame);
        if (batch.length === maxBatch) await flush();
      }
      await flush();
    } finally {
      await source.close();
    }
    io.stdout.write(summary(results, rejected, calibration?.path));
  } finally {
    await scorer.close();
  }
}

/** The calibration to judge frames with: the configured file, else the model's default one if present. */
async function findCalibration(configured: string, name: string, expected: { model: string; fingerprint: string }) {
  const path = configured || join('calibration', `${name}.json`);
  if (!configured && !(await access(path).then(() => true, () => false))) return undefined;
  return { ...(await loadCalibration(path, expected)), path };
}

function summary(results: Scored[], rejected: number, calibration: string | undefined): string {
  const bySource = new Map<string, Scored[]>();
  for (const r of results) bySource.set(r.frame.source, [...(bySource.get(r.frame.source) ?? []), r]);
  const lines = ['', `${results.length} frames scored, ${rejected} rejected`];
  for (const [source, rs] of bySource) {
    const z = rs.map((r) => r.gaiaZ).sort((a, b) => a - b);
    const flagged = calibration ? `, ${rs.filter((r) => r.flagged).length} flagged OOD` : '';
    lines.push(`  ${source}: ${rs.length} frames${flagged}, GAIA-Z median ${z[Math.floor(z.length / 2)]!.toFixed(4)}, mean MSP ${(rs.reduce((a, r) => a + r.msp, 0) / rs.length).toFixed(3)}`);
  }
  const id = bySource.get('id');
  const ood = bySource.get('ood');
  if (id && ood) {
    // ID-scores: higher = more in-distribution (GAIA-Z raw is negated).
    const a = (f: (r: Scored) => number) => auroc(id.map(f), ood.map(f)).toFixed(3);
    lines.push(`  AUROC id vs ood: GAIA-Z ${a((r) => -r.gaiaZ)}, MSP ${a((r) => r.msp)}, energy ${a((r) => r.energy)}`);
  }
  lines.push(
    calibration
      ? `  verdicts: GAIA-Z against ${calibration} (threshold at 95% TPR on in-distribution frames)`
      : '  no calibration found: scores only (write one with gaia-sentinel calibrate)',
  );
  return `${lines.join('\n')}\n`;
}
