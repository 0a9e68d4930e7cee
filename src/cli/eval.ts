/** `gaia-sentinel eval`: FPR95 and AUROC of each method (default GAIA-Z, GAIA-A, MSP, Energy; --methods all) on ID vs OOD sets. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config/load.js';
import { fileExists, writeOutput } from '../files.js';
import { isFlagged } from '../detect/calibration.js';
import type { Judge } from '../detect/verdict-rule.js';
import { evaluate, rocCurves, type Evaluation } from '../detect/evaluation.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { HeadName } from '../compile/heads.js';
import { openFrameSet } from '../frames/frame-set.js';
import { loadModelPackage } from '../model/manifest.js';
import { defaultCalibrationPath, type CalibrationFile } from '../calibration/calibration-file.js';
import { bindCalibration, readCalibration, type LoadedCalibration } from '../calibration/calibration-load.js';
import { progressReporter } from '../offline/progress.js';
import { markdownTable, rocSvg } from '../offline/report.js';
import { scoreSet, type OnBadFrame, type SetScores } from '../offline/score-set.js';
import { OFFLINE_HEADS, openOfflineSession, sessionNotes, type OfflineSession } from '../offline/session.js';
import { parseOnBadFrame } from './calibrate.js';
import { UsageError, type CliIO } from './io.js';
import { needsStats, parseMethods } from './methods.js';

export const evalUsage = `Usage: gaia-sentinel eval --model DIR --id PATH --ood PATH [--ood PATH]... [--methods LIST|all] [--calibration FILE]
                        [--out-dir DIR] [--frames-out FILE] [--on-bad-frame skip|stop] [--json] [--config FILE]

Scores an in-distribution set and one or more OOD sets, and reports FPR95 and AUROC per
OOD set and on average for each method (default GAIA-Z, GAIA-A, MSP and Energy; docs/DEFINITIONS.md),
plus the flag rate a calibration gives on the ID set. Writes JSON, Markdown and an ROC picture (SVG).

  --methods LIST|all   heads to evaluate; all: every method of the GAIA paper's comparison
                       (react and mahalanobis read the feature statistics of the calibration,
                       made with calibrate --stats-data)
  --model DIR          model package folder (manifest.json + model.onnx; not the .onnx file,
                       which only compile takes)
  --id PATH            ID evaluation set (not the calibration set), e.g. data/sets/fmnist-eval
  --ood PATH           OOD set or image folder (repeatable)
  --calibration FILE   default: calibration/<model name>.json when it exists; its verdict rule
                       (the agent's, with model.verdictHead from --config) is reported as
                       the method "verdict"
  --out-dir DIR        default: reports
  --frames-out FILE    also write NDJSON, one line per set ({set, id, flagged, pValue, scores}):
                       every frame's verdict and raw head scores, for analysis and bench/drift-detection
  --on-bad-frame MODE  skip (default) or stop
  --json               print one JSON object instead of the report: the files written, the
                       sets, FPR95 and AUROC per method (average over the OOD sets) and per set
  --config FILE        JSON config file (keys: docs/CONFIG.md)
`;

type EvalFlags = ReturnType<typeof parseEvalFlags>;

function parseEvalFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      id: { type: 'string' },
      ood: { type: 'string', multiple: true },
      calibration: { type: 'string' },
      methods: { type: 'string' },
      'out-dir': { type: 'string' },
      'frames-out': { type: 'string' },
      'on-bad-frame': { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.id || !values.ood?.length) throw new UsageError('eval needs --model, --id and at least one --ood', evalUsage);
  return { ...values, model: values.model, id: values.id, ood: values.ood };
}

/** What scoring needs: the session, the methods asked for that it computes, the calibration and its judge. */
interface EvalSetup {
  readonly config: Readonly<Config>;
  readonly session: OfflineSession;
  readonly methods: readonly HeadName[];
  readonly calibrationPath: string;
  readonly cal: CalibrationFile | undefined;
  readonly judge: Judge | undefined;
}

export async function evalCommand(argv: string[], io: CliIO): Promise<void> {
  const flags = parseEvalFlags(argv);
  const onBadFrame = parseOnBadFrame(flags['on-bad-frame']);
  const setup = await openEvaluation(flags, io);
  const { id, ood } = await scoreSets(setup, flags, onBadFrame, io);
  const result = evaluateSets(setup, id, ood);
  const lines = reportLines(setup, flags, id, ood, result);
  const wrote = await writeReports(setup, flags, id, ood, result, lines);
  if (!flags.json) {
    io.stdout.write(`${lines.join('\n')}wrote ${wrote.join(', ')}\n`);
    return;
  }
  const summary = {
    model: setup.session.pkg.manifest.name,
    fingerprint: setup.session.fingerprint,
    wrote,
    id: { name: id.name, frames: id.count, rejected: id.rejected.length },
    ood: ood.map((o) => ({ name: o.name, frames: o.count, rejected: o.rejected.length })),
    methods: result.ev.average,
    results: result.ev.results,
    ...(result.flagRates ? { calibration: setup.calibrationPath, flagRates: result.flagRates } : {}),
  };
  io.stdout.write(`${JSON.stringify(summary)}\n`);
}

async function openEvaluation(flags: EvalFlags, io: CliIO): Promise<EvalSetup> {
  const config = loadConfig({ ...(flags.config ? { file: flags.config } : {}), overrides: { 'model.dir': flags.model } });
  const asked = parseMethods(flags.methods, OFFLINE_HEADS.filter((h) => h !== 'logits'));
  const pkg = await loadModelPackage(config.model.dir);
  const calibrationPath = flags.calibration ?? defaultCalibrationPath(pkg.manifest.name, pkg.dir);
  const hasCalibration = Boolean(flags.calibration) || (await fileExists(calibrationPath));
  // The verdict rule's heads are scored too, so it can be reported beside them.
  const verdictHeadOverride = config.model.verdictHead || undefined;
  const reading = hasCalibration ? await readCalibration(calibrationPath, verdictHeadOverride, asked, true, pkg.manifest.name) : undefined;
  const scored = [...new Set([...asked, ...(reading?.needs.judgeHeads ?? [])])];
  const statsHeads = needsStats(scored);
  if (statsHeads.length > 0 && !hasCalibration) {
    throw new GaiaError(
      ErrorCodes.FEATURE_STATS,
      `eval: ${statsHeads.join(' and ')} need the feature statistics of a calibration, and there is none at ${calibrationPath}; ` +
        'make one with gaia-sentinel calibrate --model DIR --data CALIBRATION_SET --stats-data TRAINING_SET, or pass --calibration FILE',
    );
  }
  const featureStats = reading?.needs.featureStats;
  const session = await openOfflineSession(
    config,
    {
      heads: ['logits', ...scored],
      ...(featureStats ? { headSettings: { featureStats } } : {}),
      // The default GAIA-A is left out, with a note, where the classifier cannot have it.
      ...(flags.methods === undefined ? { optional: ['gaia_a'] as const } : {}),
    },
    pkg,
  );
  for (const line of sessionNotes(session)) io.stderr.write(`${line}\n`);
  const methods = asked.filter((m) => !session.omitted.some((o) => o.head === m));
  // Fail before scoring, not after, when the calibration belongs to another model.
  const expected = { model: session.pkg.manifest.name, fingerprint: session.fingerprint, ...(verdictHeadOverride ? { head: verdictHeadOverride } : {}) };
  let loaded: LoadedCalibration | undefined;
  try {
    loaded = reading ? bindCalibration(reading, expected) : undefined;
  } catch (err) {
    await session.scorer.close();
    throw err;
  }
  return { config, session, methods, calibrationPath, cal: loaded?.file, judge: loaded?.judge };
}

async function scoreSets(setup: EvalSetup, flags: EvalFlags, onBadFrame: OnBadFrame, io: CliIO): Promise<{ id: SetScores; ood: SetScores[] }> {
  const { config, session } = setup;
  const score = async (path: string): Promise<SetScores> => {
    const set = await openFrameSet(path, { maxBytes: config.frames.maxBytes });
    const result = await scoreSet(set, session.pre, session.scorer, {
      batch: config.runtime.maxBatch,
      onBadFrame,
      progress: progressReporter(`score ${set.name}`, io.stderr as NodeJS.WriteStream),
    });
    for (const r of result.rejected) io.stderr.write(`skipped ${r.id}: ${r.message} (${r.reason})\n`);
    return result;
  };
  try {
    const id = await score(flags.id);
    const ood: SetScores[] = [];
    for (const path of flags.ood) ood.push(await score(path));
    return { id, ood };
  } finally {
    await session.scorer.close();
  }
}

interface EvalResult {
  readonly ev: Evaluation;
  readonly verdicts: ReadonlyMap<SetScores, Verdicts>;
  /** A set's scores of each method, in the order the methods were asked for, then the verdict's. */
  readonly inOrder: (s: SetScores) => Record<string, ArrayLike<number>>;
  /** The calibration's realised flag rate on the ID set, per head and for the verdict rule. */
  readonly flagRates: Record<string, number> | undefined;
}

function evaluateSets(setup: EvalSetup, id: SetScores, ood: readonly SetScores[]): EvalResult {
  const { judge, cal, methods } = setup;
  // The agent's verdict on every frame: its ID statistic is the `verdict` method's score.
  const verdicts = new Map<SetScores, Verdicts>();
  if (judge) for (const s of [id, ...ood]) verdicts.set(s, judgeSet(judge, s));
  // Rows in the order the methods were asked for, not the order the graph computes them.
  const inOrder = (s: SetScores): Record<string, ArrayLike<number>> => ({
    ...Object.fromEntries(methods.map((m) => [m, s.heads[m]!])),
    ...(judge ? { verdict: verdicts.get(s)!.idScore } : {}),
  });
  const ev = evaluate(inOrder(id), ood.map((o) => ({ name: o.name, heads: inOrder(o) })));
  return { ev, verdicts, inOrder, flagRates: cal ? flagRatesOf(cal, id, verdicts.get(id)!) : undefined };
}

function flagRatesOf(cal: CalibrationFile, id: SetScores, verdict: Verdicts): Record<string, number> {
  const rates: Record<string, number> = Object.fromEntries(
    Object.entries(cal.heads).filter(([h]) => id.heads[h] !== undefined).map(([h, c]) => {
      const raw = id.heads[h]!;
      let flagged = 0;
      for (const v of raw) if (isFlagged(v, c)) flagged++;
      return [h, flagged / raw.length];
    }),
  );
  rates.verdict = verdict.flagged.reduce((a, f) => a + f, 0) / id.count;
  return rates;
}

/** The Markdown report (and the text printed without --json), ending in an empty line. */
function reportLines(setup: EvalSetup, flags: EvalFlags, id: SetScores, ood: readonly SetScores[], result: EvalResult): string[] {
  const { flagRates } = result;
  return [
    `# Evaluation: ${setup.session.pkg.manifest.name}`,
    '',
    `ID: ${id.name} (${id.count} frames, ${flags.id})${id.accuracy === undefined ? '' : `, classifier accuracy ${(100 * id.accuracy).toFixed(2)}%`}; ` +
      `OOD: ${ood.map((o) => `${o.name} (${o.count})`).join(', ')}.`,
    'FPR95: % of OOD frames scoring above the threshold that accepts 95% of ID frames (lower is better). AUROC: %, ID as the positive class.',
    '',
    markdownTable(result.ev),
    '',
    ...(flagRates
      ? [
          `Realised flag rate on ${id.name} at the thresholds of ${setup.calibrationPath} (expected ≈ 5%): ` +
            Object.entries(flagRates).map(([h, r]) => `${h} ${(100 * r).toFixed(2)}%`).join(', '),
          '',
        ]
      : []),
  ];
}

/** Writes the Markdown, JSON and ROC reports (and --frames-out); returns the paths written, in that order. */
async function writeReports(setup: EvalSetup, flags: EvalFlags, id: SetScores, ood: readonly SetScores[], result: EvalResult, lines: readonly string[]): Promise<string[]> {
  const { session, judge } = setup;
  const { ev, inOrder, flagRates } = result;
  const name = session.pkg.manifest.name;
  const base = join(flags['out-dir'] ?? 'reports', `eval-${name}`);
  const curves = Object.fromEntries(ood.map((o) => [o.name, rocCurves(inOrder(id), inOrder(o), ev.heads)]));
  await writeOutput(`${base}.md`, `${lines.join('\n')}\n![ROC curves](eval-${name}-roc.svg)\n`);
  await writeOutput(`${base}-roc.svg`, rocSvg(`ROC, ${name}: ID ${id.name} vs OOD sets`, curves, ev));
  const report = {
    model: name,
    fingerprint: session.fingerprint,
    createdAt: new Date().toISOString(),
    id: { name: id.name, source: id.source, frames: id.count, rejected: id.rejected.length, ...(id.accuracy === undefined ? {} : { accuracy: id.accuracy }) },
    ood: ood.map((o) => ({ name: o.name, source: o.source, frames: o.count, rejected: o.rejected.length })),
    ...ev,
    ...(flagRates ? { calibration: setup.calibrationPath, flagRates } : {}),
    ...(judge ? { verdict: { name: judge.name, heads: judge.heads, rule: judge.describe(), flagRate: judge.flagRate } } : {}),
  };
  await writeOutput(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  const framesOut = flags['frames-out'];
  if (framesOut) await writeOutput(framesOut, framesNdjson(id, ood, result.verdicts));
  return [`${base}.md`, `${base}.json`, `${base}-roc.svg`, ...(framesOut ? [framesOut] : [])];
}

/** --frames-out: one line per set, every frame's verdict and raw head scores. */
function framesNdjson(id: SetScores, ood: readonly SetScores[], verdicts: ReadonlyMap<SetScores, Verdicts>): string {
  const line = (s: SetScores, isId: boolean) =>
    JSON.stringify({
      set: s.name,
      id: isId,
      count: s.count,
      ...(verdicts.has(s) ? { flagged: verdicts.get(s)!.flagged, pValue: verdicts.get(s)!.pValue } : {}),
      scores: Object.fromEntries(Object.entries(s.heads).filter(([h]) => h !== 'logits').map(([h, v]) => [h, Array.from(v)])),
      // The input heads' raw values (docs/DEFINITIONS.md#input-heads), NaN as null.
      inputs: Object.fromEntries(Object.entries(s.inputs).map(([h, v]) => [h, Array.from(v, (x) => (Number.isFinite(x) ? x : null))])),
    });
  return `${[line(id, true), ...ood.map((o) => line(o, false))].join('\n')}\n`;
}

interface Verdicts {
  readonly idScore: Float64Array;
  readonly flagged: number[];
  /** null where the calibration has no reference scores. */
  readonly pValue: Array<number | null>;
}

/** The judge's verdict on every frame of a scored set. */
function judgeSet(judge: Judge, s: SetScores): Verdicts {
  const idScore = new Float64Array(s.count);
  const flagged: number[] = [];
  const pValue: Array<number | null> = [];
  // A rule may combine input heads: they read the frames' input statistics beside the graph's heads.
  const scored = { ...s.heads, ...s.inputs };
  for (let i = 0; i < s.count; i++) {
    const j = judge.judge(scored, i);
    idScore[i] = j.idScore;
    flagged.push(j.flagged ? 1 : 0);
    pValue.push(j.pValue ?? null);
  }
  return { idScore, flagged, pValue };
}
