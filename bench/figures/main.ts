/**
 * Makes the figures of docs/RESULTS.md "Figures" (issue #26), analogues of the GAIA paper's
 * supplementary Figures 1–3, from the reference model and the data sets of
 * scripts/data/build_sets.py:
 *
 *   /usr/bin/python3 scripts/data/build_sets.py          # data/sets/ (once)
 *   npm run build && nice -n 10 node dist/bench/figures/main.js
 *
 * writes docs/img/figure-{1-saliency,2-scores,3-taps}.png. Options: --model DIR,
 * --calibration FILE, --set NAME=PATH (repeatable; the first is the ID set), --count N
 * frames per set, --examples N frames per set in Figure 1, --heads LIST, --out DIR, --json FILE,
 * --figures 1,2,3 (which to draw), --suffix S (appended to the file names). Figure 1 of the
 * bundled model: --model models/fmnist-cnn --calibration calibration/fmnist-cnn.json
 * --figures 1 --suffix=-fmnist-cnn.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseHeads } from '../../src/compile/compiler.js';
import { collect } from './collect.js';
import { figure1, figure2, figure3, tapTerms } from './draw.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18' },
    calibration: { type: 'string', default: 'calibration/fmnist-resnet18.json' },
    set: { type: 'string', multiple: true },
    count: { type: 'string', default: '1000' },
    examples: { type: 'string', default: '5' },
    heads: { type: 'string', default: 'gaia_z,gaia_a,msp,energy,mahalanobis' },
    out: { type: 'string', default: 'docs/img' },
    json: { type: 'string' },
    /** Which figures to draw (comma-separated numbers). */
    figures: { type: 'string', default: '1,2,3' },
    /** Appended to each file name ("figure-1-saliency<suffix>.png"). */
    suffix: { type: 'string', default: '' },
  },
});

const DEFAULT_SETS = ['fmnist-eval', 'digits', 'photos', 'textures', 'noise'].map((n) => `${n}=data/sets/${n}`);

const sets = (values.set ?? DEFAULT_SETS).map((spec) => {
  const [name, path] = spec.includes('=') ? [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)] : [spec, spec];
  if (!existsSync(path!)) {
    throw new Error(`--set ${spec}: ${path} does not exist; build the data sets with /usr/bin/python3 scripts/data/build_sets.py, or pass --set NAME=FOLDER of images`);
  }
  return { name: name!, path: path! };
});
const positive = (flag: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a whole number ≥ 1, got "${v}"`);
  return n;
};

const data = await collect({
  modelDir: values.model!,
  calibration: values.calibration!,
  sets,
  count: positive('count', values.count!),
  examples: positive('examples', values.examples!),
  heads: parseHeads(values.heads!).filter((h) => h !== 'logits'),
  batch: 64,
});
await mkdir(values.out!, { recursive: true });
const wanted = values.figures!.split(',').map((f) => f.trim());
const drawers = [
  ['1', 'figure-1-saliency', () => figure1(data)],
  ['2', 'figure-2-scores', () => figure2(data)],
  ['3', 'figure-3-taps', () => figure3(data)],
] as const;
for (const f of wanted) if (!drawers.some(([n]) => n === f)) throw new Error(`--figures: unknown figure "${f}"; choose from 1, 2, 3`);
for (const [n, name, draw] of drawers) {
  if (!wanted.includes(n)) continue;
  const file = join(values.out!, `${name}${values.suffix}.png`);
  await (await draw()).writePng(file);
  console.log(`wrote ${file}`);
}
console.log(data.saliencyNote);
for (const s of data.sets) {
  const median = (xs: Float32Array) => Float32Array.from(xs).sort()[Math.floor(xs.length / 2)]!;
  console.log(`${s.name}: ${s.count} frames; median ${data.heads.map((h) => `${h} ${median(s.scores[h]!).toPrecision(4)}`).join(', ')}`);
  // Figure 3's numbers: the mean of each tap's GAIA-Z term, summed over the taps of each channel width.
  const { contribution } = tapTerms(s, data.tapChannels);
  const byWidth = new Map<number, number>();
  data.tapChannels.forEach((c, l) => byWidth.set(c, (byWidth.get(c) ?? 0) + contribution.reduce((acc, row) => acc + row[l]!, 0) / s.count));
  console.log(`  mean GAIA-Z terms by tap width: ${[...byWidth].map(([c, v]) => `${c}-channel taps ${v.toFixed(4)}`).join(', ')}`);
}
if (values.json) {
  const summary = { model: data.model, tapChannels: data.tapChannels, thresholds: data.thresholds, sets: data.sets.map((s) => ({ name: s.name, count: s.count, examples: s.examples.map((e) => e.id) })) };
  await writeFile(values.json, JSON.stringify(summary, null, 2));
}
