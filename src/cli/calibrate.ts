/** `gaia-sentinel calibrate`: the TPR-95 threshold of every head on in-distribution frames. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { calibrateHead, DEFAULT_CALIBRATE_OPTIONS, ID_SCORE_SIGN } from '../detect/calibration.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { openFrameSet } from '../frames/frame-set.js';
import { saveCalibration, CALIBRATION_FORMAT, type CalibrationFile } from '../offline/calibration-file.js';
import { progressReporter } from '../offline/progress.js';
import { scoreSet, type OnBadFrame } from '../offline/score-set.js';
import { openOfflineSession } from '../offline/session.js';
import type { CliIO } from './io.js';

export const calibrateUsage = `Usage: gaia-sentinel calibrate --model DIR --data PATH [--out FILE] [--on-bad-frame skip|stop] [--config FILE]

Scores in-distribution frames that are NOT used for evaluation and writes, per head, the
threshold at 95% TPR, the expected flag rate p0, a bootstrap 95% interval of the
threshold, quantiles, a histogram, and the fingerprint of model + preprocessing.

  --model DIR          model package (manifest.json + model.onnx)
  --data PATH          a data set built by scripts/data (e.g. data/sets/fmnist-calib) or a folder of images
  --out FILE           default: calibration/<model name>.json
  --on-bad-frame MODE  skip (default: report and go on) or stop (fail naming the file)
`;

export function parseOnBadFrame(value: string | undefined): OnBadFrame {
  if (value === undefined || value === 'skip' || value === 'stop') return value ?? 'skip';
  throw new GaiaError(ErrorCodes.BAD_CONFIG, `--on-bad-frame must be skip or stop, got "${value}"`);
}

export async function calibrateCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      'on-bad-frame': { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.data) throw new GaiaError(ErrorCodes.BAD_CONFIG, `calibrate needs --model and --data\n\n${calibrateUsage}`);
  const onBadFrame = parseOnBadFrame(values['on-bad-frame']);
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides: { 'model.dir': values.model } });
  const session = await openOfflineSession(config);
  try {
    const set = await openFrameSet(values.data, { maxBytes: config.frames.maxBytes });
    const scores = await scoreSet(set, session.pre, session.scorer, {
      batch: config.runtime.maxBatch,
      onBadFrame,
      progress: progressReporter(`calibrate ${set.name}`, io.stderr as NodeJS.WriteStream),
    });
    for (const r of scores.rejected) io.stderr.write(`skipped ${r.id}: ${r.message} (${r.reason})\n`);
    const heads = Object.fromEntries(
      Object.entries(scores.heads)
        .filter(([h]) => ID_SCORE_SIGN[h] !== undefined)
        .map(([h, raw]) => [h, calibrateHead(raw, ID_SCORE_SIGN[h]!, DEFAULT_CALIBRATE_OPTIONS)]),
    );
    const name = session.pkg.manifest.name;
    const calibration: CalibrationFile = {
      format: CALIBRATION_FORMAT,
      model: name,
      fingerprint: session.fingerprint,
      taps: config.model.taps,
      createdAt: new Date().toISOString(),
      data: { source: scores.source, frames: scores.count, rejected: scores.rejected.length },
      primaryHead: 'gaia_z',
      heads,
    };
    const out = values.out ?? join('calibration', `${name}.json`);
    await saveCalibration(out, calibration);
    const z = heads.gaia_z!;
    io.stdout.write(
      `calibrated ${name} on ${scores.count} frames of ${set.name} (${scores.rejected.length} skipped) → ${out}\n` +
        `  gaia_z: flag when raw ≥ ${z.rawThreshold.toPrecision(6)} (95% bootstrap interval ${z.rawThresholdInterval95.map((v) => v.toPrecision(6)).join(' … ')}), p0 = ${(100 * z.flagRate).toFixed(2)}%\n` +
        Object.entries(heads)
          .filter(([h]) => h !== 'gaia_z')
          .map(([h, c]) => `  ${h}: raw threshold ${c.rawThreshold.toPrecision(6)}, p0 = ${(100 * c.flagRate).toFixed(2)}%\n`)
          .join(''),
    );
  } finally {
    await session.scorer.close();
  }
}
