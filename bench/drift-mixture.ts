/**
 * bench/drift-detection.ts --mixture: the drift monitor against Alibi Detect's online Fisher
 * exact test (bench/fet-online.ts) on partly shifted streams, at the same measured
 * false-alarm rate.
 *
 * 1. The monitor's false-alarm interval at --ert, measured on a long stream of ID verdicts
 *    resampled from the id set (restarted after each alarm: independent renewals).
 * 2. FET (windows --fet-windows) configured by Alibi's simulation at a nominal ERT that is
 *    rescaled until its measured interval on the same kind of stream matches the monitor's
 *    (Alibi's own configuration targets the ERT only up to its simulation's noise).
 * 3. Per shifted set, --runs seeded streams: ID frames for a random warm-up of 2–10 windows,
 *    then each frame from the shifted set with probability --mixture, else from the id set;
 *    each detector reads the same frames (the monitor the verdict and its p-value, FET the
 *    flag). Frames from the change to the first alarm: median and p90, over runs without a
 *    false alarm before the change.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../src/detect/calibration.js';
import { DriftMonitor, type DriftOptions } from '../src/detect/drift.js';
import { configureFet, FetDetector, type FetOptions, type FetThresholds } from './fet-online.js';

export interface Frame {
  readonly flagged: boolean;
  readonly pValue: number;
}
export interface MixtureSet {
  readonly set: string;
  readonly frames: readonly Frame[];
}
export interface MixtureSettings {
  readonly ert: number;
  readonly share: number;
  readonly runs: number;
  readonly seed: number;
  readonly faAlarms: number;
  readonly windows: readonly number[];
  readonly bootstraps: number;
  readonly maxFrames: number;
  /** FET's nominal ERT, fixed (undefined: searched to the monitor's measured false-alarm interval). */
  readonly fetErt?: number;
}

/** A detector fed one frame at a time; true at an alarm. */
interface Detector {
  push(f: Frame): boolean;
}
type Make = () => Detector;

function monitorDetector(options: DriftOptions): Make {
  return () => {
    const m = new DriftMonitor(options);
    let t = 0;
    return { push: (f) => m.observe('cam', f, t++) !== undefined };
  };
}

function fetDetector(options: FetOptions, config: FetThresholds, random: () => number): Make {
  return () => {
    const d = new FetDetector(options, config, random);
    return { push: (f) => d.push(f.flagged) };
  };
}

/** Mean frames between false alarms (restarting after each) on resampled ID frames, and µs per frame. */
function falseAlarms(make: Make, id: readonly Frame[], alarms: number, seed: number, limit: number) {
  const random = mulberry32(seed);
  const gaps: number[] = [];
  let d = make();
  let since = 0;
  let frames = 0;
  const t0 = performance.now();
  while (gaps.length < alarms && frames < limit) {
    since++;
    frames++;
    if (d.push(id[Math.floor(random() * id.length)]!)) {
      gaps.push(since);
      since = 0;
      d = make();
    }
  }
  const us = ((performance.now() - t0) * 1000) / frames;
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return { alarms: gaps.length, frames, meanFrames: mean, usPerFrame: us };
}

interface Delay {
  readonly medianFrames: number;
  readonly p90Frames: number;
  readonly falseAlarmsBeforeChange: number;
  readonly notDetectedWithin: number;
}

const quantile = (sorted: readonly number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN);

/** Frames to detection of each detector on the same seeded partly shifted streams. */
function delays(makes: Record<string, Make>, id: readonly Frame[], shifted: readonly Frame[], s: MixtureSettings, warmWindow: number): Record<string, Delay> {
  const random = mulberry32(s.seed);
  const names = Object.keys(makes);
  const out = Object.fromEntries(names.map((n) => [n, { delays: [] as number[], falseBefore: 0, missed: 0 }]));
  for (let run = 0; run < s.runs; run++) {
    const warmup = 2 * warmWindow + Math.floor(random() * 8 * warmWindow);
    const stream: Frame[] = [];
    for (let i = 0; i < warmup; i++) stream.push(id[Math.floor(random() * id.length)]!);
    for (let i = 0; i < s.maxFrames; i++) {
      const from = random() < s.share ? shifted : id;
      stream.push(from[Math.floor(random() * from.length)]!);
    }
    for (const n of names) {
      const d = makes[n]!();
      const r = out[n]!;
      let at = -1;
      for (let i = 0; i < stream.length && at < 0; i++) if (d.push(stream[i]!)) at = i;
      if (at < 0) r.missed++;
      else if (at < warmup) r.falseBefore++;
      else r.delays.push(at - warmup + 1);
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const r = out[n]!;
      const sorted = r.delays.sort((a, b) => a - b);
      return [n, { medianFrames: quantile(sorted, 0.5), p90Frames: quantile(sorted, 0.9), falseAlarmsBeforeChange: r.falseBefore, notDetectedWithin: r.missed }];
    }),
  );
}

/**
 * The whole comparison: `base` is the monitor's options at s.ert (with its p0, window and
 * reference size); `legacy` the same without the partial-shift CUSUMs and fitted to Uniform.
 */
export function mixtureComparison(id: readonly Frame[], sets: readonly MixtureSet[], base: DriftOptions, s: MixtureSettings) {
  const limit = 400 * s.ert;
  const legacyOptions: DriftOptions = { ...base, partialShifts: false, referenceSize: undefined };
  const ours = falseAlarms(monitorDetector(base), id, s.faAlarms, s.seed + 1, limit);
  const legacy = falseAlarms(monitorDetector(legacyOptions), id, s.faAlarms, s.seed + 1, limit);
  const sumRef = id.filter((f) => f.flagged).length;
  const random = mulberry32(s.seed + 2);
  // FET's nominal ERT, searched until its measured interval is within 5 % of the monitor's:
  // rescaled, then bisected (geometric) between a nominal ERT measured short and one measured
  // long. Its simulated thresholds move in jumps (float32 statistics near 1, 1/ERT quantiles of
  // the simulated streams), so an exact match may not exist: then FET runs at the longest
  // interval not above the monitor's, i.e. at least the monitor's false-alarm rate (which only
  // shortens FET's delays), and the table says which.
  type Fet = { options: FetOptions; config: FetThresholds; fa: ReturnType<typeof falseAlarms> };
  const tries: Fet[] = [];
  const measure = (nominal: number): Fet => {
    const options: FetOptions = { nRef: id.length, sumRef, windows: s.windows, ert: Math.round(nominal), bootstraps: s.bootstraps };
    const config = configureFet(options, random);
    const fet = { options, config, fa: falseAlarms(fetDetector(options, config, random), id, s.faAlarms, s.seed + 1, limit) };
    tries.push(fet);
    return fet;
  };
  const target = ours.meanFrames;
  let short: Fet | undefined;
  let long: Fet | undefined;
  let next = s.fetErt ?? s.ert;
  for (let attempt = 0; attempt < (s.fetErt ? 1 : 8); attempt++) {
    const f = measure(next);
    if (Math.abs(Math.log(f.fa.meanFrames / target)) <= Math.log(1.05)) break;
    if (f.fa.meanFrames < target && (!short || f.options.ert > short.options.ert)) short = f;
    if (f.fa.meanFrames > target && (!long || f.options.ert < long.options.ert)) long = f;
    next = short && long ? Math.sqrt(short.options.ert * long.options.ert) : next * (target / f.fa.meanFrames);
    if (short && long && long.options.ert - short.options.ert <= 1) break;
  }
  const matched = tries.filter((f) => f.fa.meanFrames <= 1.05 * target);
  const fet = s.fetErt ? tries[0]! : matched.length ? matched.reduce((a, b) => (b.fa.meanFrames > a.fa.meanFrames ? b : a)) : tries.reduce((a, b) => (b.fa.meanFrames < a.fa.meanFrames ? b : a));
  const makes = {
    monitor: monitorDetector(base),
    legacy: monitorDetector(legacyOptions),
    fet: fetDetector(fet.options, fet.config, random),
  };
  const rows = sets.map((set) => {
    const flagRate = set.frames.filter((f) => f.flagged).length / set.frames.length;
    const idRate = sumRef / id.length;
    return { set: set.set, flagRate, mixtureFlagRate: s.share * flagRate + (1 - s.share) * idRate, detectors: delays(makes, id, set.frames, s, base.window) };
  });
  return {
    settings: s,
    thresholds: new DriftMonitor(base).thresholds,
    falseAlarms: { monitor: ours, legacy, fet: { ...fet.fa, nominalErt: fet.options.ert, tries: tries.map((f) => ({ nominalErt: f.options.ert, meanFrames: f.fa.meanFrames })) } },
    rows,
  };
}

/** The comparison as Markdown. */
export function mixtureMarkdown(r: ReturnType<typeof mixtureComparison>, command: string): string {
  const fa = r.falseAlarms;
  const x = (v: number) => `${(v / r.settings.ert).toFixed(2)}×`;
  const cell = (d: Delay | undefined) =>
    d === undefined ? 'n/a' :
    `${Number.isNaN(d.medianFrames) ? '∞' : d.medianFrames} / ${Number.isNaN(d.p90Frames) ? '∞' : d.p90Frames}${d.notDetectedWithin ? ` (${d.notDetectedWithin} missed)` : ''}`;
  const lines = [
    `\`${command}\``,
    '',
    `False alarms at ERT ${r.settings.ert} (${r.settings.faAlarms} alarms each, resampled ID verdicts): monitor every ${fa.monitor.meanFrames.toFixed(0)} frames (${x(fa.monitor.meanFrames)}), ` +
      `the −ln p CUSUM fitted to Uniform (before drift.partialShifts) ${fa.legacy.meanFrames.toFixed(0)} (${x(fa.legacy.meanFrames)}), ` +
      `FET ${r.settings.windows.join('/')} at nominal ERT ${fa.fet.nominalErt} (${r.settings.fetErt ? 'as given' : `the closest measured interval not above the monitor's of ${fa.fet.tries.length} tried`}) every ${fa.fet.meanFrames.toFixed(0)} (${x(fa.fet.meanFrames)}). ` +
      `Per frame: monitor ${fa.monitor.usPerFrame.toFixed(2)} µs, FET (this bench's TypeScript, not Alibi's Python) ${fa.fet.usPerFrame.toFixed(2)} µs.`,
    '',
    `Frames to detection after the change, median / p90 over ${r.settings.runs} runs; ${Math.round(100 * r.settings.share)} % of frames from the shifted set:`,
    '',
    '| shifted set | set flagged | stream flagged | monitor | FET | −ln p CUSUM (before drift.partialShifts) |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.rows.map((row) => `| ${row.set} | ${(100 * row.flagRate).toFixed(1)} % | ${(100 * row.mixtureFlagRate).toFixed(1)} % | ${cell(row.detectors.monitor)} | ${cell(row.detectors.fet)} | ${cell(row.detectors.legacy)} |`),
  ];
  return lines.join('\n');
}
