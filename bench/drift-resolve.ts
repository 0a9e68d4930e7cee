/**
 * How long a drift episode stays open after its source is back in distribution: the agent's
 * monitor (drift settings as the agent builds them, the calibration's p0 and reference size)
 * fed --shifted frames of the shifted set, then the ID set's frames until drift-resolved, from
 * --offsets start offsets in both sets; prints, per window size, the ID frames to the
 * resolution (min / median / p90 / max). Frames are 20 ms apart in frame time, as in the agent
 * tests, and --resolve-after-ms is the hysteresis (drift.resolveAfterMs).
 *
 *   npx gaia-sentinel eval --model models/fmnist-cnn --id models/fmnist-cnn/samples/id \
 *     --ood models/fmnist-cnn/samples/ood --out-dir reports/samples --frames-out reports/samples/frames.ndjson
 *   npm run build && node dist/bench/drift-resolve.js --frames reports/samples/frames.ndjson \
 *     --calibration calibration/fmnist-cnn.json [--windows 50,100,500] [--shifted 150] [--offsets 64] [--resolve-after-ms 500]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { judgeOf } from '../src/calibration/calibration-check.js';
import { readCalibrationJson } from '../src/calibration/calibration-file.js';
import { loadConfig } from '../src/config/load.js';
import { driftMonitor } from '../src/judging/drift-settings.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string' },
    calibration: { type: 'string' },
    windows: { type: 'string', default: '50,100,500' },
    shifted: { type: 'string', default: '150' },
    offsets: { type: 'string', default: '64' },
    'resolve-after-ms': { type: 'string', default: '500' },
  },
});
if (!values.frames || !values.calibration) throw new Error('--frames FILE (eval --frames-out with one ID and one shifted set) and --calibration FILE are needed');
const windows = values.windows.split(',').map(Number);
const shifted = Number(values.shifted);
const offsets = Number(values.offsets);
const resolveAfterMs = Number(values['resolve-after-ms']);
if (!windows.every((w) => Number.isInteger(w) && w >= 1) || !(Number.isInteger(shifted) && shifted >= 1) || !(Number.isInteger(offsets) && offsets >= 1) || !(resolveAfterMs >= 0)) {
  throw new Error('--windows whole numbers ≥ 1, --shifted and --offsets whole numbers ≥ 1, --resolve-after-ms ≥ 0');
}

interface SetLine {
  set: string;
  id: boolean;
  flagged: number[];
  pValue: number[];
}
const sets = readFileSync(values.frames, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SetLine);
const id = sets.find((s) => s.id);
const ood = sets.find((s) => !s.id);
if (!id || !ood) throw new Error(`${values.frames}: needs one ID set and one shifted set`);
// The judge the agent builds from the calibration: its p0 and the size of the reference its p-values rank against.
const { flagRate: p0, referenceSize } = judgeOf(values.calibration, await readCalibrationJson(values.calibration));

console.log(`ID frames to drift-resolved after ${shifted} frames of ${ood.set} (${offsets} start offsets; p0 ${p0}, ID set flags ${((100 * id.flagged.reduce((a, f) => a + f, 0)) / id.flagged.length).toFixed(2)} %)`);
console.log('| window | min | median | p90 | max | not resolved in 5000 |\n|---:|---:|---:|---:|---:|---:|');
for (const window of windows) {
  const drift = loadConfig({ env: {}, overrides: { 'drift.window': window, 'drift.resolveAfterMs': resolveAfterMs } }).drift;
  const frames: number[] = [];
  let open = 0;
  for (let o = 0; o < offsets; o++) {
    const start = Math.floor((o * id.flagged.length) / offsets);
    const monitor = driftMonitor(drift, p0, referenceSize);
    let ts = 0;
    const feed = (s: SetLine, i: number) => monitor.observe('cam', { flagged: s.flagged[i] === 1, pValue: s.pValue[i] }, (ts += 20));
    for (let i = 0; i < shifted; i++) feed(ood, (start + i) % ood.flagged.length);
    if (!monitor.state('cam')?.active) continue; // no episode to end
    let resolvedAfter = 0;
    for (let i = 1; i <= 5000 && !resolvedAfter; i++) if (feed(id, (start + i) % id.flagged.length)?.type === 'drift-resolved') resolvedAfter = i;
    if (resolvedAfter) frames.push(resolvedAfter);
    else open++;
  }
  frames.sort((a, b) => a - b);
  const q = (f: number) => frames[Math.min(frames.length - 1, Math.floor(f * frames.length))] ?? NaN;
  console.log(`| ${window} | ${frames[0] ?? NaN} | ${q(0.5)} | ${q(0.9)} | ${frames.at(-1) ?? NaN} | ${open} |`);
}
