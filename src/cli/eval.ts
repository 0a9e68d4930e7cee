/** `gaia-sentinel eval`: FPR95 and AUROC of each method (default GAIA-Z, GAIA-A, MSP, Energy; --methods all) on ID vs OOD sets. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { fileExists, writeOutput } from '../files.js';
import { isFlagged } from '../detect/calibration.js';
import type { Judge } from '../detect/verdict-rule.js';
import { evaluate, rocCurves } from '../detect/evaluation.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { openFrameSet } from '../frames/frame-set.js';
import { loadModelPackage } from '../model/manifest.js';
import { defaultCalibrationPath } from '../calibration/calibration-file.js';
import { bindCalibration, readCalibration } from '../calibration/calibration-load.js';
import { progressReporter } from '../offline/progress.js';
import { markdownTable, rocSvg } from '../offline/report.js';
import { scoreSet, type SetScores } from '../offline/score-set.js';
import { OFFLINE_HEADS, openOfflineSession, sessionNotes } from '../offline/session.js';
import { parseOnBadFrame } from './calibrate.js';
import type { CliIO } from './io.js';
import { needsStats, parseMethods } from './methods.js';

export const evalUsage = `Usage: gaia-sentinel eval --model DIR --id PATH --ood PATH [--ood PATH]... [--methods LIST|all] [--calibration FILE] [--out-dir DIR]

Scores an in-distribution set and one or more OOD sets, and reports FPR95 and AUROC per
OOD set and on average for each method (default GAIA-Z, GAIA-A, MSP and Energy; docs/DEFINITIONS.md),
plus the flag rate a calibration gives on the ID set. Writes JSON, Markdown and an ROC picture (SVG).

  --methods LIST|all   heads to evaluate; all: every method of the GAIA paper's comparison
                       (react and mahalanobis read the feature statistics of the calibration,
                       made with calibrate --stats-data)
  --model DIR          model package
  --id PATH            ID evaluation set (not the calibration set), e.g. data/sets/fmnist-eval
  --ood PATH           OOD set or image folder (repeatable)
  --calibration FILE   default: calibration/<model name>.json when it exists; its verdict rule
                       (the agent's, with model.verdictHead from --config) is reported as
                       the method "verdict"
  --out-dir DIR        default: reports
  --frames-out FILE    also write NDJSON, one line per set ({set, id, flagged, pValue, scores}):
                       every frame's verdict and raw head scores, for analysis and bench/drift-detection
  --on-bad-frame MODE  skip (default) or stop
`;

export async function evalCommand(argv: string[], io: CliIO): Promise<void> {
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
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model || !values.id || !values.ood?.length) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `eval needs --model, --id and at least one --ood\n\n${evalUsage}`);
  }
  const onBadFrame = parseOnBadFrame(values['on-bad-frame']);
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides: { 'model.dir': values.model } });
  const asked = parseMethods(values.methods, OFFLINE_HEADS.filter((h) => h !== 'logits'));
  const pkg = await loadModelPackage(config.model.dir);
  const calibrationPath = values.calibration ?? defaultCalibrationPath(pkg.manifest.name);
  const hasCalibration = Boolean(values.calibration) || (await fileExists(calibrationPath));
  // The verdict rule's heads are scored too, so it can be reported beside them.
  const verdictHeadOverride = config.model.verdictHead || undefined;
  const reading = hasCalibration ? await readCalibration(calibrationPath, verdictHeadOverride, asked, true) : undefined;
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
      ...(values.methods === undefined ? { optional: ['gaia_a'] as const } : {}),
    },
    pkg,
  );
  for (const line of sessionNotes(session)) io.stderr.write(`${line}\n`);
  const methods = asked.filter((m) => !session.omitted.some((o) => o.head === m));
  const name = session.pkg.manifest.name;
  // Fail before scoring, not after, when the calibration belongs to another model.
  const loaded = reading
    ? bindCalibration(reading, { model: name, fingerprint: session.fingerprint, ...(verdictHeadOverride ? { head: verdictHeadOverride } : {}) })
    : undefined;
  const cal = loaded?.file;
  const judge: Judge | undefined = loaded?.judge;
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
  let id: SetScores;
  const ood: SetScores[] = [];
  try {
    id = await score(values.id);
    for (const path of values.ood) ood.push(await score(path));
  } finally {
    await session.scorer.close();
  }
  // The agent's verdict on every frame: its ID statistic is the `verdict` method's score.
  const verdicts = new Map<SetScores, Verdicts>();
  if (judge) for (const s of [id, ...ood]) verdicts.set(s, judgeSet(judge, s));
  // Rows in the order the methods were asked for, not the order the graph computes them.
  const inOrder = (s: SetScores): Record<string, ArrayLike<number>> => ({
    ...Object.fromEntries(methods.map((m) => [m, s.heads[m]!])),
    ...(judge ? { verdict: verdicts.get(s)!.idScore } : {}),
  });
  const ev = evaluate(inOrder(id), ood.map((o) => ({ name: o.name, heads: inOrder(o) })));

  let flagRates: Record<string, number> | undefined;
  if (cal) {
    flagRates = Object.fromEntries(
      Object.entries(cal.heads).filter(([h]) => id.heads[h] !== undefined).map(([h, c]) => {
        const raw = id.heads[h]!;
        let flagged = 0;
        for (const v of raw) if (isFlagged(v, c)) flagged++;
        return [h, flagged / raw.length];
      }),
    );
    const v = verdicts.get(id)!;
    flagRates.verdict = v.flagged.reduce((a, f) => a + f, 0) / id.count;
  }

  const table = markdownTable(ev);
  const lines = [
    `# Evaluation: ${name}`,
    '',
    `ID: ${id.name} (${id.count} frames, ${values.id})${id.accuracy === undefined ? '' : `, classifier accuracy ${(100 * id.accuracy).toFixed(2)}%`}; ` +
      `OOD: ${ood.map((o) => `${o.name} (${o.count})`).join(', ')}.`,
    'FPR95: % of OOD frames scoring above the threshold that accepts 95% of ID frames (lower is better). AUROC: %, ID as the positive class.',
    '',
    table,
    '',
    ...(flagRates
      ? [
          `Realised flag rate on ${id.name} at the thresholds of ${calibrationPath} (expected ≈ 5%): ` +
            Object.entries(flagRates).map(([h, r]) => `${h} ${(100 * r).toFixed(2)}%`).join(', '),
          '',
        ]
      : []),
  ];
  const outDir = values['out-dir'] ?? 'reports';
  const base = join(outDir, `eval-${name}`);
  const curves = Object.fromEntries(ood.map((o) => [o.name, rocCurves(inOrder(id), inOrder(o), ev.heads)]));
  await writeOutput(`${base}.md`, `${lines.join('\n')}\n![ROC curves](eval-${name}-roc.svg)\n`);
  await writeOutput(`${base}-roc.svg`, rocSvg(`ROC, ${name}: ID ${id.name} vs OOD sets`, curves, ev));
  await writeOutput(
    `${base}.json`,
    `${JSON.stringify(
      {
        model: name,
        fingerprint: session.fingerprint,
        createdAt: new Date().toISOString(),
        id: { name: id.name, source: id.source, frames: id.count, rejected: id.rejected.length, ...(id.accuracy === undefined ? {} : { accuracy: id.accuracy }) },
        ood: ood.map((o) => ({ name: o.name, source: o.source, frames: o.count, rejected: o.rejected.length })),
        ...ev,
        ...(flagRates ? { calibration: calibrationPath, flagRates } : {}),
        ...(judge ? { verdict: { name: judge.name, heads: judge.heads, rule: judge.describe(), flagRate: judge.flagRate } } : {}),
      },
      null,
      2,
    )}\n`,
  );
  const framesOut = values['frames-out'];
  if (framesOut) {
    const line = (s: SetScores, isId: boolean) =>
      JSON.stringify({
        set: s.name,
        id: isId,
        count: s.count,
        ...(verdicts.has(s) ? { flagged: verdicts.get(s)!.flagged, pValue: verdicts.get(s)!.pValue } : {}),
        scores: Object.fromEntries(Object.entries(s.heads).filter(([h]) => h !== 'logits').map(([h, v]) => [h, Array.from(v)])),
      });
    await writeOutput(framesOut, `${[line(id, true), ...ood.map((o) => line(o, false))].join('\n')}\n`);
  }
  io.stdout.write(`${lines.join('\n')}wrote ${base}.md, ${base}.json, ${base}-roc.svg${framesOut ? `, ${framesOut}` : ''}\n`);
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
  for (let i = 0; i < s.count; i++) {
    const j = judge.judge(s.heads, i);
    idScore[i] = j.idScore;
    flagged.push(j.flagged ? 1 : 0);
    pValue.push(j.pValue ?? null);
  }
  return { idScore, flagged, pValue };
}
