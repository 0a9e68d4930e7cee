/** `gaia-sentinel calibrate`: the TPR-95 threshold of every head on in-distribution frames. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { calibrateHead, DEFAULT_CALIBRATE_OPTIONS, ID_SCORE_SIGN, isNearConstant } from '../detect/calibration.js';
import { DEFAULT_KNN_BANK } from '../detect/head-stats.js';
import { headsThatCannotFlagAlone } from '../detect/lone-heads.js';
import { COMBINE_RULES, fitVerdictRule, type CombineRule, type StoredVerdictRule } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { fileExists } from '../files.js';
import { openFrameSet } from '../frames/frame-set.js';
import { isInputHead } from '../contracts/input-stats.js';
import { calibrateInputHeads } from '../calibration/input-calibration.js';
import { CALIBRATION_IN_PACKAGE, saveCalibration, CALIBRATION_FORMAT, type CalibrationFile } from '../calibration/calibration-file.js';
import { progressReporter } from '../offline/progress.js';
import { scoreSet, type OnBadFrame } from '../offline/score-set.js';
import { featureStatistics } from '../offline/feature-statistics.js';
import { OFFLINE_HEADS, openOfflineSession, sessionNotes } from '../offline/session.js';
import { zeroRatiosOf } from '../offline/zero-ratios.js';
import { fraction, wholeNumber } from './flags.js';
import { UsageError, type CliIO } from './io.js';
import { headStatsSettings } from './head-stats-flags.js';
import { needsStats, parseMethods } from './methods.js';
import { nearConstantWarning } from './near-constant.js';
import { DEFAULT_VERDICT_COMBINE, DEFAULT_VERDICT_HEADS, defaultVerdictHeads, inDefaultVerdict } from './default-verdict.js';

/** Below this many frames the 95%-TPR threshold is mostly sampling noise (about 10 frames below it). */
export const DEFAULT_MIN_FRAMES = 200;
/** A set with more unreadable frames than this is rarely the ID data it was meant to be. */
export const DEFAULT_MAX_REJECTED = 0.05;

export { DEFAULT_VERDICT_COMBINE, DEFAULT_VERDICT_HEADS } from './default-verdict.js';

export const calibrateUsage = `Usage: gaia-sentinel calibrate --model DIR --data PATH [--stats-data PATH [--knn-bank N] [--knn-k K] [--vim-dim P]]
                             [--methods LIST|all] [--out FILE]
                             [--verdict-heads LIST] [--verdict-combine RULE]
                             [--on-bad-frame skip|stop] [--min-frames N] [--max-rejected F] [--json] [--config FILE]

Scores in-distribution frames that are NOT used for evaluation and writes, per head, the
threshold at 95% TPR, the expected flag rate p0, a bootstrap 95% interval of the
threshold, quantiles, a histogram, and the fingerprint of model + preprocessing.

  --model DIR          model package (manifest.json + model.onnx)
  --data PATH          a data set built by scripts/data (e.g. data/sets/fmnist-calib) or a folder of images
  --stats-data PATH    ID *training* frames with labels (e.g. data/sets/fmnist-train): estimates
                       the feature statistics react, mahalanobis, knn, fdbd and vim need and stores them
                       (fingerprinted) in the calibration
  --knn-bank N         ID training frames kept as knn's bank when --methods has knn (default ${DEFAULT_KNN_BANK},
                       drawn at random, seeded; all when the set is smaller): N × D × 5.3 bytes
  --knn-k K            knn's neighbour (default: bank rows / 1000, at least 1)
  --vim-dim P          vim's principal dimensions, when --methods has vim (default: 1000 for D ≥ 2048,
                       512 for D ≥ 768, else D/2)
  --methods LIST|all   heads to calibrate (default gaia_z,gaia_a,msp,energy, and mahalanobis and vim
                       with --stats-data; all: every method, which needs --stats-data)
  --verdict-heads LIST the heads the verdict rule combines (default:
                       ${DEFAULT_VERDICT_HEADS.join(',')},
                       those of them calibrated: mahalanobis and vim with --stats-data (energy in vim's
                       place without), the input heads measured on every frame); each must be
                       among --methods or an input head.
                       A head near constant on these frames (it cannot rank them) gets a warning,
                       is left out of the default and is refused here
  --verdict-combine R  how their ID p-values combine (docs/DEFINITIONS.md#the-verdict-rule): ${DEFAULT_VERDICT_COMBINE}
                       (default), or ${COMBINE_RULES.filter((r) => r !== DEFAULT_VERDICT_COMBINE).join(', ')}
  --out FILE           default: <model dir>/calibration.json (the package's own, which run and
                       eval read by default)
  --force              replace an existing calibration file
  --on-bad-frame MODE  skip (default: report and go on) or stop (fail naming the file)
  --min-frames N       refuse (GAIA_CALIBRATION_DATA, nothing written) with fewer scored
                       frames than N (default ${DEFAULT_MIN_FRAMES})
  --max-rejected F     refuse when more than this fraction of the set was rejected
                       (default ${DEFAULT_MAX_REJECTED})
  --json               print one JSON object (output path, frames, every head's threshold)
`;

/** Refuses a calibration set too small or too dirty to trust, saying how to accept it anyway. */
export function checkCalibrationSet(name: string, scored: number, rejected: number, minFrames: number, maxRejected: number): void {
  const total = scored + rejected;
  if (scored < minFrames) {
    throw new GaiaError(
      ErrorCodes.CALIBRATION_DATA,
      `only ${scored} frames of ${name} could be scored${rejected ? ` (${rejected} rejected)` : ''}, fewer than --min-frames ${minFrames}: ` +
        `a 95%-TPR threshold from so few frames is mostly sampling noise; nothing was written. Give it more ID frames, or pass --min-frames ${Math.max(1, scored)} to accept this set`,
    );
  }
  if (total > 0 && rejected / total > maxRejected) {
    throw new GaiaError(
      ErrorCodes.CALIBRATION_DATA,
      `${rejected} of the ${total} frames of ${name} (${((100 * rejected) / total).toFixed(1)}%) were rejected, more than --max-rejected ${maxRejected}: ` +
        `the set is probably not the ID data it was meant to be (each rejected frame is listed above); nothing was written. Fix or remove them, or pass --max-rejected ${(rejected / total).toFixed(2)} to accept this set`,
    );
  }
}

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
      'stats-data': { type: 'string' },
      methods: { type: 'string' },
      'verdict-heads': { type: 'string' },
      'knn-bank': { type: 'string' },
      'knn-k': { type: 'string' },
      'vim-dim': { type: 'string' },
      'verdict-combine': { type: 'string' },
      'on-bad-frame': { type: 'string' },
      'min-frames': { type: 'string' },
      'max-rejected': { type: 'string' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.data) throw new UsageError('calibrate needs --model and --data', calibrateUsage);
  // Into the package by default; an existing calibration (a shipped one above all) is replaced only when asked.
  const out = values.out ?? join(values.model, CALIBRATION_IN_PACKAGE);
  if (!values.force && (await fileExists(out))) {
    throw new UsageError(`${out} exists: pass --force to replace it, or --out FILE to write another (a running agent reloads its file on SIGHUP)`, calibrateUsage);
  }
  const onBadFrame = parseOnBadFrame(values['on-bad-frame']);
  const minFrames = wholeNumber('--min-frames', values['min-frames'], DEFAULT_MIN_FRAMES);
  const maxRejected = fraction('--max-rejected', values['max-rejected'], DEFAULT_MAX_REJECTED);
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides: { 'model.dir': values.model } });
  // With training statistics, mahalanobis and vim are calibrated by default too: the verdict rule uses them.
  const defaultMethods = OFFLINE_HEADS.filter((h) => h !== 'logits');
  const methods = parseMethods(values.methods, values['stats-data'] ? [...defaultMethods, 'mahalanobis', 'vim'] : defaultMethods);
  const combine = values['verdict-combine'] ?? DEFAULT_VERDICT_COMBINE;
  if (!(COMBINE_RULES as readonly string[]).includes(combine)) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `--verdict-combine must be one of ${COMBINE_RULES.join(', ')}, got "${combine}"`);
  }
  const askedVerdictHeads = values['verdict-heads']?.split(',').map((h) => h.trim()).filter(Boolean);
  // Input heads are measured at decoding, whatever --methods says (docs/DEFINITIONS.md#input-heads).
  const notCalibrated = (askedVerdictHeads ?? []).filter((h) => !(methods as readonly string[]).includes(h) && !isInputHead(h));
  if (askedVerdictHeads && (askedVerdictHeads.length === 0 || notCalibrated.length > 0)) {
    throw new GaiaError(
      ErrorCodes.BAD_CONFIG,
      `--verdict-heads ${values['verdict-heads']}: ${notCalibrated.length ? `${notCalibrated.join(', ')} not among --methods (${methods.join(',')})` : 'names no head'}; the verdict rule combines calibrated heads`,
    );
  }
  const statsData = values['stats-data'];
  if (needsStats(methods).length > 0 && !statsData) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `calibrate: ${needsStats(methods).join(' and ')} need statistics of ID training features; pass --stats-data TRAINING_SET (e.g. data/sets/fmnist-train)`,
    );
  }
  const stats = statsData ? await featureStatistics(config, statsData, onBadFrame, io.stderr, { ...headStatsSettings(values), heads: methods }) : undefined;
  // GAIA-Z's zero ratio per tap comes along with GAIA-Z: its typical values go in the file (the evidence pages).
  const ratios = methods.includes('gaia_z') ? (['gaia_z_ratios'] as const) : [];
  const session = await openOfflineSession(config, {
    heads: ['logits', ...methods, ...ratios],
    ...(stats ? { headSettings: { featureStats: stats.stats } } : {}),
    // The default GAIA-A is left out, with a note, where the classifier cannot have it.
    ...(values.methods === undefined ? { optional: ['gaia_a'] as const } : {}),
  });
  for (const line of sessionNotes(session)) io.stderr.write(`${line}\n`);
  try {
    const set = await openFrameSet(values.data, { maxBytes: config.frames.maxBytes });
    const scores = await scoreSet(set, session.pre, session.scorer, {
      batch: config.runtime.maxBatch,
      onBadFrame,
      progress: progressReporter(`calibrate ${set.name}`, io.stderr as NodeJS.WriteStream),
    });
    for (const r of scores.rejected) io.stderr.write(`skipped ${r.id}: ${r.message} (${r.reason})\n`);
    checkCalibrationSet(set.name, scores.count, scores.rejected.length, minFrames, maxRejected);
    const heads = Object.fromEntries(
      Object.entries(scores.heads)
        .filter(([h]) => ID_SCORE_SIGN[h] !== undefined)
        .map(([h, raw]) => [h, calibrateHead(raw, ID_SCORE_SIGN[h]!, DEFAULT_CALIBRATE_OPTIONS)]),
    );
    const name = session.pkg.manifest.name;
    // A head that cannot rank the calibration frames is left out of the default rule, and said.
    const constant = Object.keys(heads).filter((h) => isNearConstant(heads[h]!));
    const ranking = Object.keys(heads).filter((h) => !constant.includes(h));
    const warningOf = (h: string) => nearConstantWarning(h, heads[h]!, scores.count, session.notes, ranking);
    const constantAsked = (askedVerdictHeads ?? []).filter((h) => constant.includes(h));
    if (constantAsked.length > 0) {
      throw new GaiaError(
        ErrorCodes.BAD_CONFIG,
        `--verdict-heads ${values['verdict-heads']}: ${constantAsked.map(warningOf).join(' ')} ` +
          `The rule would get nothing from ${constantAsked.length > 1 ? 'them' : 'it'} (an ID p-value of 1 for every frame), and a head that flags every calibration frame cannot be loaded; nothing was written. Drop ${constantAsked.join(' and ')} from --verdict-heads`,
      );
    }
    const leftOut = (h: string) => !askedVerdictHeads && inDefaultVerdict(h);
    const warnings = constant.map((h) => `${warningOf(h)}${leftOut(h) ? ' The verdict rule leaves it out.' : ''}`);
    for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
    if (ranking.length === 0) {
      throw new GaiaError(
        ErrorCodes.BAD_CONFIG,
        `no head ranks the ${scores.count} calibration frames (${constant.map(warningOf).join(' ')}): a calibration of this model would flag every frame or none; nothing was written. Check that ${values.data} holds varied in-distribution frames and that the model's preprocessing (manifest.json) matches its training`,
      );
    }
    const input = calibrateInputHeads(scores.inputs, DEFAULT_CALIBRATE_OPTIONS);
    const unmeasured = (askedVerdictHeads ?? []).filter((h) => isInputHead(h) && !input.stored[h]);
    if (unmeasured.length > 0) {
      throw new GaiaError(
        ErrorCodes.BAD_CONFIG,
        `--verdict-heads ${values['verdict-heads']}: ${input.skipped.filter((w) => unmeasured.some((h) => w.startsWith(h))).join('; ')}; nothing was written. Calibrate on encoded frames (a folder of the cameras' JPEGs) or drop ${unmeasured.join(' and ')}`,
      );
    }
    const idScoresOf = (h: string) => input.idScores[h] ?? Float64Array.from(scores.heads[h]!, (v) => heads[h]!.sign * v);
    const verdictHeads = askedVerdictHeads ?? defaultVerdictHeads((h) => (heads[h] !== undefined && !constant.includes(h)) || input.stored[h] !== undefined);
    const verdictScores = Object.fromEntries(verdictHeads.map((h) => [h, idScoresOf(h)]));
    const verdict: StoredVerdictRule | undefined = verdictHeads.length > 0 ? fitVerdictRule(combine as CombineRule, verdictHeads, verdictScores) : undefined;
    const alone = verdict ? headsThatCannotFlagAlone(verdict, scores.count) : [];
    if (alone.length > 0) {
      io.stderr.write(
        `warning: with ${scores.count} calibration frames, ${alone.join(', ')} cannot flag a frame on ${alone.length > 1 ? 'their' : 'its'} own under ${combine}: ` +
          `a frame more unusual on one of them than every calibration frame, and typical on the other heads, is not flagged (no p-value is below 1/${scores.count + 1}). ` +
          `Calibrate on more frames (the shipped calibrations use 5,000) so that a shift only one head sees can be flagged\n`,
      );
    }
    const calibration: CalibrationFile = {
      format: CALIBRATION_FORMAT,
      model: name,
      fingerprint: session.fingerprint,
      taps: config.model.taps,
      createdAt: new Date().toISOString(),
      data: { source: scores.source, frames: scores.count, rejected: scores.rejected.length },
      primaryHead: ranking.includes('gaia_z') ? 'gaia_z' : (ranking[0] ?? (heads.gaia_z ? 'gaia_z' : Object.keys(heads)[0]!)),
      ...(verdict ? { verdict } : {}),
      heads,
      ...(stats ? { featureStats: { ...stats.stored, fingerprint: session.fingerprint } } : {}),
      ...(Object.keys(input.stored).length > 0 ? { inputHeads: input.stored } : {}),
      ...zeroRatiosOf(scores.heads.gaia_z_ratios, scores.count, session.taps),
    };
    await saveCalibration(out, calibration);
    const z = heads.gaia_z;
    if (values.json) {
      const summary = {
        out,
        model: name,
        fingerprint: calibration.fingerprint,
        data: calibration.data,
        primaryHead: calibration.primaryHead,
        ...(verdict ? { verdict: { combine: verdict.combine, heads: verdict.heads, threshold: verdict.threshold, flagRate: verdict.flagRate } } : {}),
        heads: Object.fromEntries(Object.entries(heads).map(([h, c]) => [h, { rawThreshold: c.rawThreshold, rawThresholdInterval95: c.rawThresholdInterval95, flagRate: c.flagRate }])),
        ...(constant.length > 0 ? { nearConstant: constant, warnings } : {}),
        inputHeads: Object.keys(input.stored),
      };
      io.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    io.stdout.write(
      `calibrated ${name} on ${scores.count} frames of ${set.name} (${scores.rejected.length} skipped) → ${out}\n` +
        (z
          ? `  gaia_z: flag when raw ≥ ${z.rawThreshold.toPrecision(6)} (95% bootstrap interval ${z.rawThresholdInterval95.map((v) => v.toPrecision(6)).join(' … ')}), p0 = ${(100 * z.flagRate).toFixed(2)}%\n`
          : '') +
        (verdict
          ? `  verdict: ${verdict.combine} of the ID p-values of ${verdict.heads.join(', ')}, flag when ≤ ${verdict.threshold.toPrecision(6)}, p0 = ${(100 * verdict.flagRate).toFixed(2)}%\n`
          : '') +
        (stats ? `  feature statistics from ${stats.stored.frames} frames of ${statsData}: react τ = ${stats.stats.reactThreshold.toPrecision(6)}, ${stats.stats.dim} features` +
            (stats.stats.knn ? `, knn bank ${stats.stats.knn.rows} frames (k ${stats.stats.knn.k})` : '') +
            (stats.stats.vim ? `, vim ${stats.stats.vim.principalDim} principal dimensions` : '') + '\n'
          : '') +
        `  input heads (decoded frame statistics): ${Object.keys(input.stored).join(', ') || 'none'}${input.skipped.length ? ` (${input.skipped.join('; ')})` : ''}\n` +
        Object.entries(heads)
          .filter(([h]) => h !== 'gaia_z')
          .map(([h, c]) => `  ${h}: raw threshold ${c.rawThreshold.toPrecision(6)}, p0 = ${(100 * c.flagRate).toFixed(2)}%\n`)
          .join(''),
    );
  } finally {
    await session.scorer.close();
  }
}
