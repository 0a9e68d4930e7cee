/**
 * How far a calibration's own sampling moves the partial-shift CUSUM's false-alarm interval
 * (docs/DEFINITIONS.md#the-calibrations-own-sampling-error).
 *
 *   npm run build && node dist/bench/drift-calibration-spread.js [--ert 10000] [--sizes 1000,5000,20000] [--draws 300] [--seed 3] [--below-cap 25] [--p0 0.05]
 *
 * Given a calibration of n frames, a new ID frame's conformal p-value is j/(n + 1) with
 * probability U₍ⱼ₎ − U₍ⱼ₋₁₎, the spacings of n uniform order statistics (Dirichlet(1, …, 1)):
 * uniform only on average over calibrations. Per draw of those spacings, the CUSUM's exact
 * in-control run length (the lattice Markov chain, src/detect/cusum-lattice.ts) at the
 * threshold the monitor fits for the nominal law; printed relative to the nominal run length
 * (quantiles over draws). --below-cap N: read −ln p down to N calibration statistics instead of
 * the monitor's 25 (STATISTICS_BELOW_CAP), the threshold refitted to that law. --p0: the flag
 * rate the CUSUM's increments are built for (the calibration's).
 */
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/detect/calibration.js';
import { capIndex, latticeIndex, latticeRunLength, latticeThreshold, MAX_LATTICE_INDEX, nullIndexLaw, STATISTICS_BELOW_CAP } from '../src/detect/cusum-lattice.js';
import { partialShiftIncrements, partialShiftLimit } from '../src/detect/partial-shifts.js';

const { values } = parseArgs({
  options: {
    ert: { type: 'string', default: '10000' },
    sizes: { type: 'string', default: '1000,5000,20000' },
    draws: { type: 'string', default: '300' },
    seed: { type: 'string', default: '3' },
    'below-cap': { type: 'string', default: String(STATISTICS_BELOW_CAP) },
    p0: { type: 'string', default: '0.05' },
  },
});
const ert = Number(values.ert);
const sizes = values.sizes.split(',').map(Number);
const draws = Number(values.draws);
const belowCap = Number(values['below-cap']);
const p0 = Number(values.p0);
if (!(ert >= 100) || !sizes.every((n) => Number.isInteger(n) && n >= 100) || !(draws >= 10) || !(belowCap >= 1) || !(p0 > 0 && p0 < 1)) {
  console.error('--ert needs ≥ 100, --sizes whole numbers ≥ 100, --draws ≥ 10, --below-cap ≥ 1, --p0 in (0, 1)');
  process.exit(2);
}

const steps = partialShiftIncrements(p0);
console.log('| calibration frames | h (steps) | run length over calibration draws, × nominal: p10 | p25 | median | p75 | p90 |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const n of sizes) {
  const random = mulberry32(Number(values.seed));
  const own = belowCap === STATISTICS_BELOW_CAP;
  const cap = own ? capIndex(n) : Math.max(1, latticeIndex(Math.min(1, belowCap / (n + 1))));
  const law0 = own ? nullIndexLaw(n) : new Float64Array(MAX_LATTICE_INDEX + 1);
  if (!own) for (let j = 1; j <= n + 1; j++) law0[Math.min(cap, latticeIndex(j / (n + 1)))]! += 1 / (n + 1);
  const h = own ? partialShiftLimit(ert, p0, n).h : latticeThreshold(steps, law0, ert);
  const nominal = latticeRunLength(steps, law0, h);
  const spacing = new Float64Array(n + 1);
  const runs: number[] = [];
  for (let d = 0; d < draws; d++) {
    let total = 0;
    for (let j = 0; j <= n; j++) total += spacing[j] = -Math.log(1 - random());
    const law = new Float64Array(MAX_LATTICE_INDEX + 1);
    for (let j = 1; j <= n + 1; j++) law[Math.min(cap, latticeIndex(j / (n + 1)))]! += spacing[j - 1]! / total;
    runs.push(latticeRunLength(steps, law, h) / nominal);
  }
  runs.sort((a, b) => a - b);
  const q = (x: number) => runs[Math.min(runs.length - 1, Math.floor(x * runs.length))]!.toFixed(2);
  console.log(`| ${n} | ${h} | ${q(0.1)} | ${q(0.25)} | ${q(0.5)} | ${q(0.75)} | ${q(0.9)} |`);
}
