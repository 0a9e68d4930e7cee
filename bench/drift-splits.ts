/**
 * How much the drift monitor's false-alarm interval on held-out verdicts rides on which frames
 * calibrate: the two Fashion-MNIST ID halves (fmnist-calib and fmnist-eval, 10 000 frames) are
 * pooled and split again at random, N seeded times; each candidate rule is fitted on one half
 * exactly as `calibrate` fits it (input heads as typicalities, calibrateInputHeads) and judges
 * the other as the agent does, and the loop of test/detect/drift-held-out.test.ts
 * (held-out-drift.ts) measures its false episodes' spacing as a multiple of the ERT. One split
 * is one draw of this spread; the shipped halves and their swap are two of them.
 *
 *   node bin/gaia-sentinel.js eval --model M --methods gaia_z,energy,mahalanobis,vim --calibration C \
 *     --id data/sets/fmnist-eval --ood data/sets/fmnist-calib --out-dir reports/ho --frames-out reports/ho/frames.ndjson
 *   npm run build && node dist/bench/drift-splits.js --frames reports/ho/frames.ndjson [--splits 30] [--ert 10000] \
 *     [--candidates "gaia_z+energy+mahalanobis+vim+inputs:fisher-guard;gaia_z+mahalanobis+vim+inputs:two-group"]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { INPUT_HEADS } from '../src/contracts/input-stats.js';
import { ID_SCORE_SIGN } from '../src/detect/calibration.js';
import { measurable } from '../src/detect/input-heads.js';
import type { CombineRule } from '../src/detect/verdict-rule.js';
import { resplitSpacings } from './held-out-drift.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string' },
    splits: { type: 'string', default: '20' },
    ert: { type: 'string', default: '10000' },
    candidates: { type: 'string', default: 'gaia_z+energy+mahalanobis+vim+inputs:fisher-guard;gaia_z+mahalanobis+vim+inputs:two-group' },
  },
});
const splits = Number(values.splits);
const ert = Number(values.ert);
if (!values.frames) throw new Error('--frames: give the frames file of an eval with both fmnist-calib and fmnist-eval (see the header)');
if (!(Number.isInteger(splits) && splits > 0)) throw new Error(`--splits ${values.splits}: give a whole number of splits > 0`);
if (!(ert > 0)) throw new Error(`--ert ${values.ert}: give the expected run time in frames, a number > 0`);

interface SetLine {
  set: string;
  count: number;
  scores: Record<string, number[]>;
  inputs?: Record<string, Array<number | null>>;
}
const lines = readFileSync(values.frames, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as SetLine);
const halves = ['fmnist-calib', 'fmnist-eval'].map((name) => {
  const s = lines.find((l) => l.set === name);
  if (!s) throw new Error(`${values.frames}: no set ${name}; run eval with --id data/sets/fmnist-eval --ood data/sets/fmnist-calib`);
  return s;
});

// Every frame's raw value per head (the input heads' as measured), both halves pooled.
const pooled: Record<string, Float64Array> = {};
for (const head of Object.keys(halves[0]!.scores).filter((h) => ID_SCORE_SIGN[h] !== undefined)) pooled[head] = Float64Array.from(halves.flatMap((s) => s.scores[head]!));
for (const head of INPUT_HEADS) {
  const v = Float64Array.from(halves.flatMap((s) => (s.inputs?.[head] ?? []).map((x) => x ?? Number.NaN)));
  if (v.length === halves[0]!.count + halves[1]!.count && measurable(v)) pooled[head] = v;
}
const inputHeads = INPUT_HEADS.filter((h) => pooled[h]);
const candidates = values.candidates.split(';').map((spec) => {
  const [hs, combine] = spec.split(':');
  const heads = hs!.split('+').flatMap((h) => (h === 'inputs' ? inputHeads : [h]));
  const missing = heads.filter((h) => !pooled[h]);
  if (missing.length) throw new Error(`--candidates ${spec}: no scores for ${missing.join(', ')} in ${values.frames}`);
  return { name: `${combine}(${hs!.split('+').join(',')})`, heads, combine: combine as CombineRule };
});

const results = candidates.map((c) => {
  const r = resplitSpacings(pooled, c.heads, c.combine, splits, ert);
  console.error(`${c.name}: ${r.map((x) => `${x.spacing.toFixed(2)}×`).join(' ')}`);
  return r;
});

const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))]!;
console.log(`| rule | splits | false episodes × ERT ${ert}: min | p25 | median | p75 | max | in 0.8–1.25 | held-out flag %: min | median | max |`);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
candidates.forEach((c, k) => {
  const d = results[k]!.map((r) => r.spacing);
  const f = results[k]!.map((r) => 100 * r.flag);
  const cells = [Math.min(...d), quantile(d, 0.25), quantile(d, 0.5), quantile(d, 0.75), Math.max(...d)].map((x) => x.toFixed(2));
  const inBand = d.filter((x) => x >= 0.8 && x <= 1.25).length;
  console.log(`| ${c.name} | ${d.length} | ${cells.join(' | ')} | ${inBand} | ${Math.min(...f).toFixed(2)} | ${quantile(f, 0.5).toFixed(2)} | ${Math.max(...f).toFixed(2)} |`);
});
