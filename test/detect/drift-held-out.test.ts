/**
 * The agent's drift monitor (drift.partialShifts, its threshold fitted to the calibration's
 * own p-values) on real verdicts of both bundled models, at an ERT of 10 000 frames.
 *
 * One calibration's false-alarm interval rides on which 5 000 frames calibrated it: two halves
 * of the same ID frames flag 4.0–6.2 % of each other, and the partial-shift CUSUM, which must
 * catch weak mixtures, turns that into run lengths 0.65–1.85× the ERT between the quartiles of
 * random re-splits (docs/DEFINITIONS.md#the-calibrations-own-sampling-error). So the monitor is
 * held to the ERT over calibration draws: the two committed ID halves (test/fixtures/sets) are
 * pooled and split at random 30 times, the shipped rule (its heads and combination) is fitted
 * on one half as `calibrate` fits it and judges the other as the agent does, and the median
 * spacing of false episodes on the resampled held-out verdicts must lie in 0.8–1.25× the ERT.
 * The shipped calibration on the held-out half is one of those draws; its figure is printed.
 */
import { describe, expect, it } from 'vitest';
import { judgeOf } from '../../src/calibration/calibration-check.js';
import { driftMonitor } from '../../src/judging/drift-settings.js';
import { falseEpisodeSpacing, resplitSpacings } from '../../bench/held-out-drift.js';
import { scorePooledHalves } from '../helpers/held-out.js';

const ERT = 10_000;
const SPLITS = 30;

describe.each(['fmnist-resnet18', 'fmnist-cnn'])('%s: the agent drift monitor on held-out verdicts', (name) => {
  it(`raises false episodes an ERT of ${ERT} apart at the median over ${SPLITS} calibration draws (0.8–1.25×)`, async () => {
    const { config, path, session, calibration, scores, pooled } = await scorePooledHalves(name);
    try {
      const judge = judgeOf(path, calibration);
      expect(judge.referenceSize).toBeGreaterThanOrEqual(1000);
      expect(driftMonitor(config.drift, judge.flagRate, judge.referenceSize).thresholds.cusumKind).toBe('partial-shift');
      // The shipped calibration on the held-out half: one draw.
      const raw = { ...scores.heads, ...scores.inputs };
      const verdicts = Array.from({ length: scores.count }, (_, i) => judge.judge(raw, i));
      const shipped = falseEpisodeSpacing(verdicts, judge.flagRate, judge.referenceSize!, ERT);

      const { heads, combine } = calibration.verdict!;
      const draws = resplitSpacings(pooled, heads, combine, SPLITS, ERT).map((d) => d.spacing).sort((a, b) => a - b);
      const median = (draws[(SPLITS - 1) >> 1]! + draws[SPLITS >> 1]!) / 2;
      console.log(
        `${name}: ${combine} false drift episodes × ERT ${ERT}: median ${median.toFixed(2)} over ${SPLITS} re-splits ` +
          `(quartiles ${draws[Math.floor(SPLITS / 4)]!.toFixed(2)}–${draws[Math.floor((3 * SPLITS) / 4)]!.toFixed(2)}); the shipped calibration ${shipped.toFixed(2)}`,
      );
      expect(median).toBeGreaterThanOrEqual(0.8);
      expect(median).toBeLessThanOrEqual(1.25);
    } finally {
      await session.scorer.close();
    }
  }, 400_000);
});
