/**
 * Drift detection on real verdict streams: frames to detection after a change, and the
 * measured false-alarm interval, of the agent's DriftMonitor (flag count + p-value CUSUM,
 * thresholds from the expected run time; docs/DEFINITIONS.md#drift-episodes).
 *
 *   npm run build && node dist/bench/drift-detection.js --data sets.ndjson [--ert N] [--window W] [--p0 P]
 *       [--runs 200] [--seed 1] [--fa-ert 100000] [--fa-alarms 30] [--max-frames 200000] [--markdown] [--out result.json]
 *   node dist/bench/drift-detection.js --window-table [--ert N] [--windows 100,200,300,500,1000,2000] [--runs 200]
 *
 * --data: NDJSON, one line per data set: {"set": string, "id": boolean, "pValue": number[],
 * "flagged": (0|1)[]}, pValue[i] and flagged[i] of the same frame; one set has id true (the
 * in-distribution evaluation frames), the others are shifted. For each shifted set, `runs`
 * seeded streams: ID frames resampled (with replacement, pairs kept) from the id set for a
 * random warm-up of 2·window to 10·window frames, then frames resampled from the shifted
 * set; the frames from the change to the first drift-started are the delay, counting only
 * runs with no false alarm before the change (those are reported apart). p0 is the id set's
 * flagged share unless --p0 is given (the calibration's flagRate). The false-alarm interval
 * is measured on one long resampled ID stream at --fa-ert (the default ERT of 18.1 M frames
 * is not measurable in a bench run; the thresholds are derived the same way at every ERT).
 *
 * --window-table: the flag count alone on Bernoulli flags, p0 5 % before the change and
 * 10 %, 20 %, 50 % after it, per window size at --ert (the table behind drift.window's default).
 *
 * Output: JSON on stdout (and in --out), or with --markdown a Markdown table; with --suite
 * data/sets/SUITE.json also one row per corruption type with its three severities, and the
 * semantic sets (docs/RESULTS.md#drift-detection-on-the-suite).
 *
 * --mixture SHARE (bench/drift-mixture.ts): streams where only SHARE of the frames come from
 * each shifted set, the monitor against Alibi Detect's online Fisher exact test (windows
 * --fet-windows, thresholds by simulation with --fet-bootstraps streams) at the same measured
 * false-alarm rate at --ert; --calibration FILE gives p0 and the verdict's reference size
 * (the agent's monitor); --stream-flag-rate LO,HI keeps the sets whose mixed stream flags that share.
 *
 *   node dist/bench/drift-detection.js --data frames.ndjson --calibration calibration/fmnist-resnet18.json \
 *       --mixture 0.2 --ert 10000 [--fet-windows 50,200,500] [--fet-bootstraps 20000] [--fet-ert N] [--fa-alarms 300] [--markdown]
 * (--fet-ert: FET's nominal ERT as given instead of searched to the monitor's measured interval.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/detect/calibration.js';
import type { DriftStatistic } from '../src/contracts/drift.js';
import { DEFAULT_EXPECTED_RUN_TIME, DriftMonitor, type DriftOptions } from '../src/detect/drift.js';
import { schema } from '../src/config/schema.js';
import { decodeFloats } from '../src/detect/verdict-rule.js';
import { mixtureComparison, mixtureMarkdown } from './drift-mixture.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    ert: { type: 'string', default: String(DEFAULT_EXPECTED_RUN_TIME) },
    window: { type: 'string', default: String(schema.drift.window.default) },
    p0: { type: 'string' },
    runs: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    'fa-ert': { type: 'string', default: '100000' },
    'fa-alarms': { type: 'string', default: '30' },
    'max-frames': { type: 'string', default: '200000' },
    'window-table': { type: 'boolean', default: false },
    windows: { type: 'string', default: '100,200,300,500,1000,2000' },
    markdown: { type: 'boolean', default: false },
    suite: { type: 'string' },
    out: { type: 'string' },
    mixture: { type: 'string' },
    calibration: { type: 'string' },
    'fet-windows': { type: 'string', default: '50,200,500' },
    'fet-bootstraps': { type: 'string', default: '20000' },
    'stream-flag-rate': { type: 'string' },
    'fet-ert': { type: 'string' },
  },
});

function num(flag: string, value: string | undefined, ok: (v: number) => boolean): number {
  const v = Number(value);
  if (value === undefined || !ok(v)) {
    console.error(`--${flag} ${value}: not a valid value`);
    process.exit(2);
  }
  return v;
}

const ert = num('ert', values.ert, (v) => Number.isInteger(v) && v >= 1);
const window = num('window', values.window, (v) => Number.isInteger(v) && v >= 1);
const runs = num('runs', values.runs, (v) => Number.isInteger(v) && v >= 1);
const seed = num('seed', values.seed, Number.isInteger);
const faErt = num('fa-ert', values['fa-ert'], (v) => Number.isInteger(v) && v >= 2 * window);
const faAlarms = num('fa-alarms', values['fa-alarms'], (v) => Number.isInteger(v) && v >= 1);
const maxFrames = num('max-frames', values['max-frames'], (v) => Number.isInteger(v) && v >= 1);

interface DataSet {
  readonly set: string;
  readonly id: boolean;
  readonly pValue: readonly number[];
  readonly flagged: readonly (0 | 1)[];
}

const quantile = (sorted: readonly number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN);

/** Frames from the change to the first drift-started, per run; runs with a false alarm before it apart. */
function detection(options: DriftOptions, before: () => { flagged: boolean; pValue?: number }, after: () => { flagged: boolean; pValue?: number }, random: () => number) {
  const delays: number[] = [];
  const by: Record<DriftStatistic, number> = { 'flag-count': 0, 'p-value-cusum': 0 };
  let falseBefore = 0;
  let missed = 0;
  for (let run = 0; run < runs; run++) {
    const monitor = new DriftMonitor(options);
    const warmup = options.window * 2 + Math.floor(random() * options.window * 8);
    let frame = 0;
    let alarmed = false;
    for (; frame < warmup && !alarmed; frame++) alarmed = monitor.observe('cam', before(), frame) !== undefined;
    if (alarmed) {
      falseBefore++;
      continue;
    }
    let delay = 0;
    for (; delay < maxFrames; delay++) {
      const e = monitor.observe('cam', after(), frame++);
      if (e) {
        by[e.statistic!]++;
        break;
      }
    }
    if (delay === maxFrames) missed++;
    else delays.push(delay + 1);
  }
  delays.sort((a, b) => a - b);
  return { runs, falseAlarmsBeforeChange: falseBefore, notDetectedWithin: missed, medianFrames: quantile(delays, 0.5), p90Frames: quantile(delays, 0.9), by };
}

function windowTable() {
  const random = mulberry32(seed);
  const bernoulli = (p: number) => () => ({ flagged: random() < p });
  const rows = values.windows.split(',').map(Number).map((w) => {
    const options = { window: w, p0: 0.05, resolveAfterMs: Infinity, expectedRunTime: ert };
    const { criticalCount, flagCountRunTime } = new DriftMonitor(options).thresholds;
    const delays = Object.fromEntries([0.1, 0.2, 0.5].map((p1) => [p1, detection(options, bernoulli(0.05), bernoulli(p1), random)]));
    return { window: w, criticalCount, flagCountRunTime, delays };
  });
  if (values.markdown) {
    console.log(`Flag count alone, p0 5 %, ERT ${ert} (its share ${2 * ert}): frames to detection after the change, median / p90 (${runs} runs; ∞: not within ${maxFrames})\n`);
    console.log('| window | critical count | flag rate 10 % | 20 % | 50 % |\n|---|---|---|---|---|');
    const cell = (d: ReturnType<typeof detection>) => (Number.isNaN(d.medianFrames) ? '∞' : `${d.medianFrames} / ${Number.isNaN(d.p90Frames) || d.notDetectedWithin > runs / 10 ? '∞' : d.p90Frames}`);
    for (const r of rows) console.log(`| ${r.window} | ${r.criticalCount} (${((100 * r.criticalCount) / r.window).toFixed(1)} %) | ${cell(r.delays[0.1]!)} | ${cell(r.delays[0.2]!)} | ${cell(r.delays[0.5]!)} |`);
  } else console.log(JSON.stringify({ ert, runs, seed, rows }, null, 2));
}

function sets() {
  if (!values.data) {
    console.error('--data FILE (NDJSON of data sets) or --window-table');
    process.exit(2);
  }
  const data = readFileSync(values.data, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const d = JSON.parse(l) as DataSet;
      if (typeof d.set !== 'string' || typeof d.id !== 'boolean' || !Array.isArray(d.pValue) || !Array.isArray(d.flagged) || d.pValue.length !== d.flagged.length || d.pValue.length === 0) {
        throw new Error(`${values.data}:${i + 1}: needs {"set", "id", "pValue": [...], "flagged": [...]} of one non-zero length`);
      }
      return d;
    });
  const id = data.find((d) => d.id);
  if (!id) throw new Error(`${values.data}: no set with "id": true`);
  const p0 = values.p0 === undefined ? id.flagged.reduce<number>((s, f) => s + f, 0) / id.flagged.length : num('p0', values.p0, (v) => v > 0 && v < 1);
  if (values.mixture !== undefined) return mixture(data, id);
  const random = mulberry32(seed);
  const resample = (d: DataSet) => () => {
    const i = Math.floor(random() * d.flagged.length);
    return { flagged: d.flagged[i] === 1, pValue: d.pValue[i]! };
  };
  const options = { window, p0, resolveAfterMs: Infinity, expectedRunTime: ert };
  const thresholds = new DriftMonitor(options).thresholds;
  const shifted = data.filter((d) => !d.id).map((d) => ({ set: d.set, frames: d.flagged.length, flagRate: d.flagged.reduce<number>((s, f) => s + f, 0) / d.flagged.length, ...detection(options, resample(id), resample(d), random) }));
  // The false-alarm interval on a long resampled ID stream, at an ERT small enough to measure.
  const faOptions = { ...options, expectedRunTime: faErt };
  const fa = new DriftMonitor(faOptions);
  const gaps: number[] = [];
  const faBy: Record<DriftStatistic, number> = { 'flag-count': 0, 'p-value-cusum': 0 };
  const idFrame = resample(id);
  let since = 0;
  for (let frame = 0; gaps.length < faAlarms && frame < 200 * faErt; frame++) {
    since++;
    const e = fa.observe('cam', idFrame(), frame);
    if (e) {
      faBy[e.statistic!]++;
      gaps.push(since);
      since = 0;
      fa.forget('cam');
    }
  }
  const measured = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : Number.NaN;
  const result = {
    data: values.data,
    idSet: id.set,
    idFrames: id.flagged.length,
    p0,
    window,
    ert,
    thresholds,
    seed,
    shifted,
    falseAlarms: { ert: faErt, thresholds: fa.thresholds, alarms: gaps.length, meanFrames: measured, ratio: measured / faErt, by: faBy },
  };
  if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (!values.markdown) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const t = thresholds;
  console.log(`Drift detection, ${values.data}: ID set ${id.set} (${id.flagged.length} frames, p0 ${(100 * p0).toFixed(2)} %), window ${window}, ERT ${ert} frames`);
  console.log(`(flag count at ${t.criticalCount}, alone every ${t.flagCountRunTime.toExponential(3)} frames; CUSUM h ${t.cusumThreshold?.toFixed(2)}, alone every ${t.cusumRunTime?.toExponential(3)}; both every ${t.expectedRunTime.toExponential(3)}). ${runs} runs per set, seed ${seed}.\n`);
  console.log('| shifted set | frames | flag rate | median frames to detection | p90 | by flag count / CUSUM | false alarm before the change | not detected within ' + maxFrames + ' |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of shifted) {
    console.log(`| ${s.set} | ${s.frames} | ${(100 * s.flagRate).toFixed(1)} % | ${s.medianFrames} | ${s.p90Frames} | ${s.by['flag-count']} / ${s.by['p-value-cusum']} | ${s.falseAlarmsBeforeChange} | ${s.notDetectedWithin} |`);
  }
  if (values.suite) console.log(`\n${suiteTables(values.suite, shifted, maxFrames)}`);
  console.log(
    `\nFalse alarms on a resampled ID stream at ERT ${faErt}: ${gaps.length} alarms, mean ${measured.toFixed(0)} frames apart (${(measured / faErt).toFixed(2)}× the configured ERT; ` +
      `${faBy['flag-count']} by the flag count, ${faBy['p-value-cusum']} by the CUSUM). The default ERT (${DEFAULT_EXPECTED_RUN_TIME}) is too long to measure here; its thresholds come from the same derivation, so expect a similar ratio there ` +
      '(resampling keeps the frames i.i.d.: real streams are autocorrelated, which lengthens runs of flags and shortens the interval).',
  );
}

/**
 * The corruption suite as one row per type (severities 1–3 side by side) and the semantic
 * sets: median frames to detection among the runs that detected, with the share of runs that
 * did not within maxFrames, and the set's flag rate.
 */
function suiteTables(
  path: string,
  shifted: ReadonlyArray<{ set: string; runs: number; notDetectedWithin: number; medianFrames: number; flagRate: number }>,
  maxFrames: number,
): string {
  const suite = JSON.parse(readFileSync(path, 'utf8')) as { corruptions: Array<{ name: string; type: string; family: string; severity: number }>; semantic: Array<{ name: string }> };
  const by = new Map(shifted.map((s) => [s.set, s]));
  const frames = (n: number) => Math.round(n).toLocaleString('en-US').replaceAll(',', ' ');
  const cell = (name: string) => {
    const s = by.get(name);
    if (!s) return 'n/a';
    const flagged = `${(100 * s.flagRate).toFixed(0)} %`;
    const u = s.notDetectedWithin;
    if (2 * u >= s.runs) return `> ${frames(maxFrames)} (${s.runs - u} of ${s.runs} detected) · ${flagged}`;
    return `${frames(s.medianFrames)}${u ? ` (${u} of ${s.runs} not within ${frames(maxFrames)})` : ''} · ${flagged}`;
  };
  const types = [...new Map(suite.corruptions.map((c) => [c.type, c.family]))];
  const rows = types.map(([type, family]) => `| ${type} | ${family} | ${[1, 2, 3].map((k) => cell(`shift-${type}-s${k}`)).join(' | ')} |`);
  const semantic = suite.semantic.filter((s) => by.has(s.name)).map((s) => `| ${s.name} | ${cell(s.name)} |`);
  return [
    'Median frames to detection · share of the set flagged:\n',
    '| corruption | family | severity 1 | severity 2 | severity 3 |',
    '|---|---|---:|---:|---:|',
    ...rows,
    '',
    '| semantic set | median frames to detection · share flagged |',
    '|---|---:|',
    ...semantic,
  ].join('\n');
}

/** --mixture: the monitor as the agent runs it (p0 and reference size from --calibration) against FET on partly shifted streams. */
function mixture(data: readonly DataSet[], id: DataSet) {
  const share = num('mixture', values.mixture, (v) => v > 0 && v <= 1);
  if (!values.calibration) throw new Error('--mixture needs --calibration FILE (the calibration the verdicts came from: its p0 and reference size)');
  const verdict = (JSON.parse(readFileSync(values.calibration, 'utf8')) as { verdict?: { flagRate: number; reference: string } }).verdict;
  const reference = verdict && decodeFloats(verdict.reference, 'f64');
  if (!verdict || !reference) throw new Error(`${values.calibration}: no verdict rule with reference statistics (calibrate with --verdict-heads)`);
  const p0 = values.p0 === undefined ? verdict.flagRate : num('p0', values.p0, (v) => v > 0 && v < 1);
  const frames = (d: DataSet) => d.flagged.map((f, i) => ({ flagged: f === 1, pValue: d.pValue[i]! }));
  const idRate = id.flagged.reduce<number>((a, f) => a + f, 0) / id.flagged.length;
  const [lo, hi] = values['stream-flag-rate'] ? values['stream-flag-rate'].split(',').map(Number) : [0, 1];
  const sets = data
    .filter((d) => !d.id)
    .map((d) => ({ set: d.set, frames: frames(d) }))
    .filter((d) => {
      const rate = share * (d.frames.filter((f) => f.flagged).length / d.frames.length) + (1 - share) * idRate;
      return rate >= lo! && rate <= hi!;
    });
  const windows = values['fet-windows'].split(',').map((w) => num('fet-windows', w, (v) => Number.isInteger(v) && v >= 1));
  const settings = { ert, share, runs, seed, faAlarms, windows, bootstraps: num('fet-bootstraps', values['fet-bootstraps'], (v) => Number.isInteger(v) && v >= 100), maxFrames,
    ...(values['fet-ert'] ? { fetErt: num('fet-ert', values['fet-ert'], (v) => Number.isInteger(v) && v >= 2) } : {}) };
  const base = { window, p0, resolveAfterMs: Infinity, expectedRunTime: ert, partialShifts: schema.drift.partialShifts.default, referenceSize: reference.length };
  const result = { data: values.data, calibration: values.calibration, ...mixtureComparison(frames(id), sets, base, settings) };
  if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(values.markdown ? mixtureMarkdown(result, `node dist/bench/drift-detection.js ${process.argv.slice(2).join(' ')}`) : JSON.stringify(result, null, 2));
}

if (values['window-table']) windowTable();
else sets();
