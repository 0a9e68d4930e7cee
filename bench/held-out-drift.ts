/**
 * How often the agent's drift monitor raises a false episode on a rule's held-out ID verdicts:
 * the loop of test/detect/drift-held-out.test.ts (a seeded resampled stream of the verdicts,
 * the monitor the agent builds with the rule's p0 and reference size, restarted after each
 * episode), as a multiple of the configured expected run time. Below 1: false episodes come
 * more often than configured, which a held-out flag rate above the calibration's p0, or excess
 * small verdict p-values, cause.
 */
import { judgeFittedOn } from '../src/calibration/fit-judge.js';
import { loadConfig } from '../src/config/load.js';
import { isInputHead } from '../src/contracts/input-stats.js';
import { mulberry32 } from '../src/detect/calibration.js';
import type { CombineRule, Judgement } from '../src/detect/verdict-rule.js';
import { driftMonitor } from '../src/judging/drift-settings.js';

export function falseEpisodeSpacing(verdicts: readonly Judgement[], p0: number, referenceSize: number, ert: number, episodes = 300): number {
  const drift = loadConfig({ env: {}, overrides: { 'drift.expectedRunTime': ert } }).drift;
  const make = () => driftMonitor(drift, p0, referenceSize);
  const random = mulberry32(25);
  const gaps: number[] = [];
  let monitor = make();
  let since = 0;
  for (let frame = 0; gaps.length < episodes && frame < episodes * 5 * ert; frame++) {
    since++;
    const v = verdicts[Math.floor(random() * verdicts.length)]!;
    if (monitor.observe('cam', { flagged: v.flagged, pValue: v.pValue! }, frame)) {
      gaps.push(since);
      since = 0;
      monitor = make();
    }
  }
  return gaps.reduce((a, b) => a + b, 0) / gaps.length / ert;
}

/** Every frame's raw value per head, both ID halves pooled (input heads as measured). */
export type PooledScores = Readonly<Record<string, Float64Array>>;

/**
 * The false-episode spacing (× ERT) and held-out flag rate of a rule over `splits` seeded
 * random halvings of the pooled frames: fitted on one half as `calibrate` fits it, judging
 * the other as the agent does. One split is one draw of the calibration's and the held-out
 * half's sampling; the spread over splits is how much one calibration's figure rides on it.
 */
export function resplitSpacings(pooled: PooledScores, heads: readonly string[], combine: CombineRule, splits: number, ert: number, episodes = 300): Array<{ spacing: number; flag: number }> {
  const total = pooled[heads[0]!]!.length;
  const out: Array<{ spacing: number; flag: number }> = [];
  for (let s = 0; s < splits; s++) {
    const random = mulberry32(1000 + s);
    const order = Array.from({ length: total }, (_, i) => i);
    for (let i = total - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const cal = order.slice(0, total >> 1);
    const held = order.slice(total >> 1);
    // Input heads are float32 in the agent's records.
    const view = Object.fromEntries(heads.map((h) => [h, Float64Array.from(held, (i) => (isInputHead(h) ? Math.fround(pooled[h]![i]!) : pooled[h]![i]!))]));
    const judge = judgeFittedOn(Object.fromEntries(heads.map((h) => [h, Float64Array.from(cal, (i) => pooled[h]![i]!)])), heads, combine);
    const verdicts = held.map((_, i) => judge.judge(view, i));
    const flag = verdicts.filter((v) => v.flagged).length / verdicts.length;
    out.push({ spacing: falseEpisodeSpacing(verdicts, judge.flagRate, judge.referenceSize!, ert, episodes), flag });
  }
  return out;
}
