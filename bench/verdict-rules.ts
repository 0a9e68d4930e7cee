/**
 * Chooses the verdict rule on the development suite (docs/RESULTS.md#the-verdict-rule): for
 * each candidate (a set of heads and a way to combine their ID p-values), fits the rule on
 * the calibration set's frames exactly as `calibrate` does (fitVerdictRule), judges every
 * frame of the evaluation sets with it (VerdictRule), and reports FPR95 / AUROC averaged per
 * group of sets: the corruption suite (shift-*) and the semantic OOD sets. ID data only is
 * used to fit; OOD sets only to compare candidates.
 *
 *   node bin/gaia-sentinel.js eval --model M --methods all --calibration C --id data/sets/fmnist-eval \
 *     --ood data/sets/fmnist-calib --ood ... --frames-out reports/frames.ndjson
 *   npm run build && node dist/bench/verdict-rules.js --frames reports/frames.ndjson [--frames more.ndjson] \
 *     [--calib fmnist-calib] [--candidates "gaia_z+energy:fisher;gaia_z+energy:min-p"] [--markdown] [--per-set camera-faults] [--drift-ert 10000]
 *
 * Groups: `corruptions` (shift-*), `semantic` (--semantic and other sets), `camera-faults`
 * (camfault-*, scripts/data/build_camera_faults.py). Besides the group averages, each row
 * gives the rule's realised flag rate on the ID set (fitted on --calib, so held out) and its
 * worst set against the best single head there: FPR95 points above that head's (the
 * "never dilutes its best head" check; negative: better than every head on every set).
 * `--per-set GROUP` prints FPR95 per set of that group for every candidate instead.
 * `--drift-ert N` adds, per rule, how far apart the agent's drift monitor raises false episodes
 * on its held-out ID verdicts, as a multiple of an ERT of N frames (held-out-drift.ts; 1 is as
 * configured, test/detect/drift-held-out.test.ts runs the same loop on the shipped rule).
 * After the table, per rule, the share of ID frames that at least one of its heads flags at
 * that head's own FPR95 threshold: what a rule would have to flag to match every head on every
 * set (docs/RESULTS.md, "The spectrum's shape").
 *
 * Input heads (docs/DEFINITIONS.md#input-heads): a frames file's `inputs` (raw values, from
 * eval) become each frame's typicality against the calibration set's own values, leave-one-out
 * on the calibration frames, exactly as `calibrate` turns them (calibrateInputHeads); a head not
 * measured on every calibration frame is left out, as calibrate leaves it. In --candidates,
 * `inputs` stands for every such input head (e.g. "gaia_z+energy+mahalanobis+inputs:fisher").
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isInputHead, type InputHead } from '../src/contracts/input-stats.js';
import { ID_SCORE_SIGN } from '../src/detect/calibration.js';
import { InputReference, measurable } from '../src/detect/input-heads.js';
import { auroc, fpr95, thresholdAtTpr95 } from '../src/detect/metrics.js';
import { falseEpisodeSpacing } from './held-out-drift.js';
import { COMBINE_RULES, fitVerdictRule, ruleOfFit, type CombineRule, type VerdictRule } from '../src/detect/verdict-rule.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', multiple: true },
    calib: { type: 'string', default: 'fmnist-calib' },
    candidates: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    semantic: { type: 'string', default: 'digits,photos,textures,noise' },
    'per-set': { type: 'string' },
    'drift-ert': { type: 'string' },
  },
});

interface SetLine {
  set: string;
  id: boolean;
  count: number;
  scores: Record<string, number[]>;
  /** Raw input-head values (null: not measured). */
  inputs?: Record<string, Array<number | null>>;
}

const ertFlag = values['drift-ert'];
if (ertFlag !== undefined && !(Number(ertFlag) > 0)) throw new Error(`--drift-ert ${ertFlag}: give the expected run time in frames, a number > 0 (e.g. 10000)`);
const sets = new Map<string, SetLine>();
let idSet: SetLine | undefined;
for (const file of values.frames ?? []) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const s = JSON.parse(line) as SetLine;
    if (s.id) idSet ??= s;
    else sets.set(s.set, s);
  }
}
const calib = sets.get(values.calib);
if (!idSet || !calib) throw new Error(`need an ID set and the calibration set ${values.calib} among the --frames files`);
sets.delete(values.calib);
const inputHeads = typicalitiesFromInputs();
const semantic = new Set(values.semantic.split(','));
const groups: Record<string, string[]> = {
  corruptions: [...sets.keys()].filter((s) => s.startsWith('shift-') && s !== 'shift-clean'),
  semantic: [...sets.keys()].filter(
    (s) => !s.startsWith('shift-') && !s.startsWith('camfault-') && (semantic.has(s) || !['digits', 'photos', 'textures', 'noise'].includes(s)),
  ),
  'camera-faults': [...sets.keys()].filter((s) => s.startsWith('camfault-')),
};
const signOf = (h: string) => (isInputHead(h) ? 1 : ID_SCORE_SIGN[h]);
const heads = Object.keys(idSet.scores).filter((h) => signOf(h) !== undefined && calib.scores[h]);

const idScores = (h: string, s: SetLine) => Float64Array.from(s.scores[h]!, (v) => signOf(h)! * v);

/**
 * Each set's input heads as typicalities (higher = more typical), scored against the
 * calibration set's raw values as calibrate scores them (float32, leave-one-out on its own
 * frames). Returns the heads calibrated; adds them to every set's `scores`.
 */
function typicalitiesFromInputs(): string[] {
  const calibrated: string[] = [];
  for (const [head, raw] of Object.entries(calib!.inputs ?? {})) {
    if (!isInputHead(head)) continue;
    const values = Float32Array.from(raw, (v) => v ?? Number.NaN);
    if (!measurable(values)) continue;
    const ref = InputReference.fromValues(head as InputHead, values);
    calib!.scores[head] = Array.from(ref.calibrationTypicalities(values));
    for (const s of [idSet!, ...sets.values()]) {
      const x = s.inputs?.[head];
      if (!x) throw new Error(`set ${s.set} has no input values for ${head}: rerun its eval with this release (--frames-out writes "inputs")`);
      s.scores[head] = x.map((v) => ref.typicality(v === null ? Number.NaN : Math.fround(v)));
    }
    calibrated.push(head);
  }
  return calibrated;
}

/** A candidate rule fitted on the calibration set, exactly as `calibrate` fits it. */
function fitted(candidate: { heads: string[]; combine: CombineRule }): VerdictRule {
  const calibScores = Object.fromEntries(candidate.heads.map((h) => [h, idScores(h, calib!)]));
  return ruleOfFit(fitVerdictRule(candidate.combine, candidate.heads, calibScores), calibScores, (h) => signOf(h)!);
}

/** A rule's judgement of every frame of a set, as the agent judges them. */
function judgements(rule: VerdictRule, s: SetLine) {
  const raw = Object.fromEntries(rule.heads.map((h) => [h, s.scores[h]!]));
  return Array.from({ length: s.count }, (_, i) => rule.judge(raw, i));
}

/** A rule's ID statistic for every frame of a set. */
function statistic(rule: VerdictRule, s: SetLine): Float64Array {
  return Float64Array.from(judgements(rule, s), (j) => j.idScore);
}

// A head whose calibration frames tie at its most typical value beyond 95 % of them ranks nothing
// alone: its FPR95 threshold is that value and its FPR95 of 0 would be ties (input_colourfulness
// on grey frames, constant; input_noise on frames with a black background, 0 on almost all). It
// is a single-head row only where it ranks; in a rule it still counts where it is unusual.
const ranks = (h: string) => {
  const s = idScores(h, calib);
  return thresholdAtTpr95(s) < Math.max(...s);
};
const candidates: Array<{ name: string; heads: string[]; combine?: CombineRule }> = heads.filter(ranks).map((h) => ({ name: h, heads: [h] }));
const asked =
  values.candidates ??
  [
    'gaia_z+energy',
    'gaia_z+mahalanobis',
    'energy+mahalanobis',
    'gaia_z+energy+mahalanobis',
    'gaia_z+react+mahalanobis',
    'gaia_z+energy+react+mahalanobis',
    'gaia_z+msp+energy+react+mahalanobis',
  ]
    .flatMap((hs) => COMBINE_RULES.map((c) => `${hs}:${c}`))
    .join(';');
for (const spec of asked.split(';')) {
  const [hs, combine] = spec.split(':');
  const list = hs!.split('+').flatMap((h) => (h === 'inputs' ? inputHeads : [h]));
  const name = `${combine}(${hs!.split('+').join(',')})`;
  if (list.every((h) => heads.includes(h))) candidates.push({ name, heads: list, combine: combine as CombineRule });
  else console.error(`skipped ${name}: no scores for ${list.filter((h) => !heads.includes(h)).join(', ')} in the frames files`);
}

const evaluated = candidates.map((c) => {
  const rule = c.combine ? fitted({ heads: c.heads, combine: c.combine }) : undefined;
  const score = (s: SetLine) => (rule ? statistic(rule, s) : idScores(c.heads[0]!, s));
  const id = score(idSet);
  const perSet = new Map<string, { fpr95: number; auroc: number }>();
  for (const n of Object.values(groups).flat()) {
    const o = score(sets.get(n)!);
    perSet.set(n, { fpr95: 100 * fpr95(id, o), auroc: 100 * auroc(id, o) });
  }
  // The held-out flag rate: the ID set is not the calibration set the rule was fitted on.
  const idFlagRate = rule ? (100 * Array.from(id).filter((t) => t <= rule.threshold).length) / id.length : undefined;
  const ert = ertFlag ? Number(ertFlag) : undefined;
  const drift = rule && ert ? falseEpisodeSpacing(judgements(rule, idSet), rule.flagRate, rule.referenceSize, ert) : undefined;
  return { c, perSet, idFlagRate, drift };
});
const singles = evaluated.filter((e) => !e.c.combine);
const bestSingle = (set: string) => Math.min(...singles.map((e) => e.perSet.get(set)!.fpr95));

const rows: Array<Record<string, number | string>> = [];
const perSetGroup = values['per-set'];
if (perSetGroup) {
  const names = groups[perSetGroup];
  if (!names?.length) throw new Error(`--per-set ${perSetGroup}: no such group among the frames (${Object.keys(groups).join(', ')})`);
  for (const e of evaluated) rows.push({ candidate: e.c.name, ...Object.fromEntries(names.map((n) => [n, e.perSet.get(n)!.fpr95])) });
} else {
  for (const e of evaluated) {
    const row: Record<string, number | string> = { candidate: e.c.name, 'ID flag % (held out)': e.idFlagRate ?? '' };
    if (ertFlag) row['false drift episodes (× ERT, held out)'] = e.drift ?? '';
    for (const [group, names] of Object.entries(groups)) {
      if (names.length === 0) continue;
      row[`${group} FPR95`] = names.reduce((a, n) => a + e.perSet.get(n)!.fpr95, 0) / names.length;
      row[`${group} AUROC`] = names.reduce((a, n) => a + e.perSet.get(n)!.auroc, 0) / names.length;
    }
    const worst = Object.values(groups).flat().reduce<[string, number]>((w, n) => {
      const excess = e.perSet.get(n)!.fpr95 - bestSingle(n);
      return excess > w[1] ? [n, excess] : w;
    }, ['', -Infinity]);
    row['worst set vs best head (FPR95 pts)'] = worst[0] ? `${worst[1].toFixed(1)} (${worst[0]})` : '';
    rows.push(row);
  }
}
const columns = Object.keys(rows[0]!);
if (values.markdown) {
  console.log(`| ${columns.join(' | ')} |\n|${columns.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
  for (const r of rows) console.log(`| ${columns.map((k) => (typeof r[k] === 'number' ? (r[k] as number).toFixed(2) : r[k])).join(' | ')} |`);
} else console.log(JSON.stringify({ groups, rows }, null, 2));

/**
 * The ID frames that at least one of a rule's heads flags at that head's own FPR95 threshold
 * (each head alone: 5 %). To be as good as each of its heads on every set, a rule would have to
 * flag all of them; flagging 5 %, it gives up the rest of this region.
 */
function unionOfHeadRegions(hs: readonly string[]): number {
  const ranking = hs.filter(ranks);
  const id = ranking.map((h) => idScores(h, idSet!));
  const thresholds = id.map((s) => thresholdAtTpr95(s));
  let flagged = 0;
  for (let i = 0; i < idSet!.count; i++) if (id.some((s, k) => s[i]! <= thresholds[k]!)) flagged++;
  return (100 * flagged) / idSet!.count;
}
if (!perSetGroup) {
  for (const e of evaluated.filter((x) => x.c.combine)) {
    console.log(`${e.c.name}: the heads' own FPR95 regions together hold ${unionOfHeadRegions(e.c.heads).toFixed(1)} % of the ID frames`);
  }
  console.log(`every single head: their own FPR95 regions together hold ${unionOfHeadRegions(singles.map((e) => e.c.heads[0]!)).toFixed(1)} % of the ID frames`);
}
