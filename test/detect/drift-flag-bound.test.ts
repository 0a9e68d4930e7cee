/**
 * The flag count allows for the calibration's own sampling error (flagRateBound,
 * src/detect/drift-thresholds.ts; docs/DEFINITIONS.md#the-calibrations-own-sampling-error):
 * its critical count is fitted to p0 plus two standard errors of the n calibration frames' flag
 * rate, so a source whose ID frames flag 1.5 standard errors above p0 still raises flag-count
 * alarms no more often than its share of the ERT; the CUSUM's share is still figured at p0.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/detect/calibration.js';
import { DriftMonitor, type DriftOptions } from '../../src/detect/drift.js';
import { FLAG_COUNT_SHARE_PARTIAL, flagRateBound } from '../../src/detect/drift-thresholds.js';
import { criticalCountForRunTime, expectedFramesToFalseAlarmAt } from '../../src/detect/ert.js';

const ERT = 10_000;
const agent: DriftOptions = { window: 500, expectedRunTime: ERT, partialShifts: true, referenceSize: 5000, p0: 0.05, resolveAfterMs: 1000 };

describe('the flag count fitted to a bound on the calibration flag rate', () => {
  it('is p0 plus two binomial standard errors of the calibration frames, p0 where their number is unknown', () => {
    expect(flagRateBound(0.05, 5000)).toBeCloseTo(0.05 + 2 * Math.sqrt((0.05 * 0.95) / 5000), 12);
    expect(flagRateBound(0.05, 1000)).toBeGreaterThan(flagRateBound(0.05, 5000));
    expect(flagRateBound(0.05)).toBe(0.05);
    expect(flagRateBound(0.9, 1)).toBeLessThan(1);
  });

  it('sets the critical count from the bound, and the CUSUM share from p0 (the total stays the ERT at p0)', () => {
    const t = new DriftMonitor(agent).thresholds;
    const bound = flagRateBound(0.05, 5000);
    expect(t.flagRateBound).toBe(bound);
    expect(t.criticalCount).toBe(criticalCountForRunTime(500, bound, FLAG_COUNT_SHARE_PARTIAL * ERT));
    expect(t.criticalCount).toBeGreaterThan(criticalCountForRunTime(500, 0.05, FLAG_COUNT_SHARE_PARTIAL * ERT));
    expect(t.flagCountRunTime).toBe(expectedFramesToFalseAlarmAt(500, 0.05, t.criticalCount));
    // Nearest lattice step of the CUSUM: within ±15 % of the ERT.
    expect(t.expectedRunTime / ERT).toBeGreaterThan(0.85);
    expect(t.expectedRunTime / ERT).toBeLessThan(1.15);
    // Without a reference size (no p-values) the count is fitted to p0, as before.
    expect(new DriftMonitor({ ...agent, partialShifts: false, referenceSize: undefined }).thresholds.flagRateBound).toBe(0.05);
  });

  it('keeps the flag count to its share on a source flagging 1.5 standard errors above p0', () => {
    const rate = 0.05 + 1.5 * Math.sqrt((0.05 * 0.95) / 5000);
    const random = mulberry32(9);
    const gaps: number[] = [];
    let m = new DriftMonitor(agent);
    let since = 0;
    // Verdicts without a p-value feed the flag count alone.
    while (gaps.length < 30) {
      since++;
      if (m.observe('cam', { flagged: random() < rate }, since)) {
        gaps.push(since);
        since = 0;
        m = new DriftMonitor(agent);
      }
    }
    const measured = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const k = m.thresholds.criticalCount;
    console.log(`flag count at ${(100 * rate).toFixed(2)} % (p0 5 %, k ${k}): a false alarm every ${measured.toFixed(0)} frames, share ${FLAG_COUNT_SHARE_PARTIAL * ERT}; fitted to p0 it would be every ${expectedFramesToFalseAlarmAt(500, rate, criticalCountForRunTime(500, 0.05, FLAG_COUNT_SHARE_PARTIAL * ERT)).toFixed(0)} (first passage)`);
    expect(measured).toBeGreaterThan(0.8 * FLAG_COUNT_SHARE_PARTIAL * ERT);
  });
});
