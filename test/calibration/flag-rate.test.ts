/**
 * The calibrated thresholds hold on held-out data: on the Fashion-MNIST evaluation half
 * (never used for calibration; committed under test/fixtures/sets), the realised flag rate
 * of GAIA-Z alone and of the committed calibration's verdict rule (the agent's default
 * judge) are 5% ± 1%, the verdict p-values are close to uniform, and the classifier's
 * accuracy matches its manifest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VERDICT_COMBINE, DEFAULT_VERDICT_HEADS } from '../../src/cli/calibrate.js';
import { isFlagged, mulberry32 } from '../../src/detect/calibration.js';
import { DriftMonitor } from '../../src/detect/drift.js';
import { judgeOf } from '../../src/calibration/calibration-check.js';
import { scoreHeldOut } from '../helpers/held-out.js';

describe.each(['fmnist-resnet18', 'fmnist-cnn'])('%s on the held-out evaluation half', (name) => {
  it('flags 5% ± 1% of in-distribution frames at the calibrated threshold', async () => {
    const { path, session, calibration, scores } = await scoreHeldOut(name);
    try {
      expect(calibration.data.source).toContain('fmnist-calib');
      expect(scores.count).toBe(5000);
      const z = calibration.heads.gaia_z!;
      const rate = Array.from(scores.heads.gaia_z!).filter((v) => isFlagged(v, z)).length / scores.count;
      expect(rate).toBeGreaterThanOrEqual(0.04);
      expect(rate).toBeLessThanOrEqual(0.06);

      // The verdict rule, as the agent judges with it.
      const judge = judgeOf(path, calibration);
      expect(judge.name).toBe('verdict');
      expect(judge.heads).toEqual([...DEFAULT_VERDICT_HEADS]);
      expect(judge.describe().startsWith(`${DEFAULT_VERDICT_COMBINE}(`)).toBe(true);
      // The input heads' raw values beside the graph's scores, as the agent's judging joins them.
      const scored = { ...scores.heads, ...scores.inputs };
      const verdicts = Array.from({ length: scores.count }, (_, i) => judge.judge(scored, i));
      const verdictRate = verdicts.filter((v) => v.flagged).length / scores.count;
      expect(verdictRate).toBeGreaterThanOrEqual(0.04);
      expect(verdictRate).toBeLessThanOrEqual(0.06);
      // Its p-values are about uniform on ID frames: each decile holds 10% ± 2% of them.
      const deciles = new Array<number>(10).fill(0);
      for (const v of verdicts) deciles[Math.min(9, Math.floor(v.pValue! * 10))]!++;
      for (const d of deciles) expect(Math.abs(d / scores.count - 0.1)).toBeLessThan(0.02);

      // Stream level: these verdicts, resampled (seeded) into one long in-distribution stream,
      // raise false drift episodes (flag count and p-value CUSUM together) at about the
      // configured expected run time: within [ERT/3, 3·ERT], as Alibi Detect's tests require.
      // 2·10⁴ frames: an ERT a test can measure; the default's thresholds come from the same derivation.
      const ert = 20_000;
      const options = { window: 100, p0: judge.flagRate, expectedRunTime: ert, resolveAfterMs: Number.POSITIVE_INFINITY };
      const random = mulberry32(name.length);
      const gaps: number[] = [];
      let monitor = new DriftMonitor(options);
      let since = 0;
      for (let frame = 0; gaps.length < 40 && frame < 40 * 3 * ert; frame++) {
        since++;
        const v = verdicts[Math.floor(random() * verdicts.length)]!;
        if (monitor.observe('cam', { flagged: v.flagged, pValue: v.pValue! }, frame)) {
          gaps.push(since);
          since = 0;
          monitor = new DriftMonitor(options);
        }
      }
      const measured = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      console.log(`${name}: ${gaps.length} false drift episodes on resampled ID verdicts, mean ${measured.toFixed(0)} frames apart at ERT ${ert}`);
      expect(gaps.length).toBe(40);
      expect(measured).toBeGreaterThan(ert / 3);
      expect(measured).toBeLessThan(3 * ert);
      const manifest = JSON.parse(readFileSync(join('models', name, 'manifest.json'), 'utf8'));
      expect(scores.accuracy).toBeGreaterThan(manifest.metrics.test_accuracy - 0.02);
    } finally {
      await session.scorer.close();
    }
  });
});
