/**
 * How often the agent's drift monitor raises a false episode on a rule's held-out ID verdicts:
 * the loop of test/detect/drift-held-out.test.ts (a seeded resampled stream of the verdicts,
 * the monitor the agent builds with the rule's p0 and reference size, restarted after each
 * episode), as a multiple of the configured expected run time. Below 1: false episodes come
 * more often than configured, which a held-out flag rate above the calibration's p0, or excess
 * small verdict p-values, cause.
 */
import { loadConfig } from '../src/config/load.js';
import { mulberry32 } from '../src/detect/calibration.js';
import type { Judgement } from '../src/detect/verdict-rule.js';
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
